"""Benchmark: synthesis time and memory, fast provider loader vs plain import.

Run from the project root: ``make bench`` (or ``.venv/bin/python
tools/bench_synth.py``). In one run it measures, on this machine:

1. cold ``python main.py`` synthesis of all environments, alternating the fast
   loader and the plain import (``PAYMENT_PROVIDER_IMPORT=plain``), ``--runs``
   times each: median wall time, the ratio, and peak memory (RSS of all
   processes: main.py, its worker processes and their Node.js children,
   sampled every 100 ms). Both use main.py's parallel workers (the default);
   the fast loader is also measured in one process (``fast-1w``,
   ``PAYMENT_SYNTH_WORKERS=1``) to show what each part contributes;
2. a scaling series: one environment with 3, 10 and 30 services (fast loader);
3. with ``--suite``: the wall time of the whole pytest suite (set-up excluded).

Figures are medians of several runs; the machine is noisy, so the baseline
(plain import) runs interleaved with the candidate in the same invocation.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.35
TARGET_SECONDS = 5.0
TARGET_MEMORY_MB = 700
TARGET_SCALING = 2.0
TARGET_SUITE_SECONDS = 60.0


def _tree_rss_kb(root_pid: int) -> int:
    """RSS of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            with open(f"/proc/{entry}/statm") as handle:
                pages = int(handle.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Runs ``cmd``; returns (wall seconds, peak tree RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-3000:]}")
    return wall, peak / 1024


def synth_env(mode: str, outdir: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PAYMENT_PROVIDER_IMPORT": mode, "CDKTF_OUTDIR": outdir}
    env.pop("PAYMENT_ENVIRONMENTS", None)
    env.update(extra or {})
    return env


def scaled_services(count: int):
    """``count`` services cloned from the example dev's three, with unique
    names, ports, paths and listener priorities. The example
    (tests/fixtures/example.py), not the user's configuration, so the figures
    stay comparable whatever config/environments.py holds."""
    from tests.fixtures.example import DEV

    services = []
    for index in range(count):
        template = DEV.services[index % len(DEV.services)]
        services.append(
            dataclasses.replace(
                template,
                name=f"svc-{index:02d}",
                port=9000 + index,
                path_prefix=f"/svc-{index:02d}",
                listener_priority=10 * (index + 1),
            )
        )
    return dataclasses.replace(DEV, services=tuple(services))


def synth_scaled(count: int) -> None:
    """Child mode: synthesize dev with ``count`` services into CDKTF_OUTDIR,
    as ``python main.py`` does in one process."""
    sys.path.insert(0, str(ROOT))
    from config import load_environments
    from main import exit_without_final_collection, synthesize

    (env,) = load_environments(defined=[scaled_services(count)])
    exit_without_final_collection(synthesize([env]))


def median(values: list[float]) -> float:
    return statistics.median(values)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per variant (default 5)")
    parser.add_argument("--suite", action="store_true", help="also time the pytest suite")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--synth-services", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synth_services:
        synth_scaled(args.synth_services)
        return 0
    if args.runs < 1:
        parser.error(f"--runs: {args.runs} is not allowed; use 1 or more")

    python = sys.executable
    results: dict[str, list[tuple[float, float]]] = {"fast": [], "fast-1w": [], "plain": []}
    variants = {
        "fast": ("fast", {}),
        "fast-1w": ("fast", {"PAYMENT_SYNTH_WORKERS": "1"}),
        "plain": ("plain", {}),
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # One unmeasured warm-up per variant fills the pyc and jsii caches.
        for mode in ("fast", "plain"):
            measure([python, "main.py"], synth_env(mode, f"{tmp}/warm-{mode}"))
        for run in range(args.runs):
            for name, (mode, extra) in variants.items():
                results[name].append(
                    measure([python, "main.py"], synth_env(mode, f"{tmp}/{name}-{run}", extra))
                )
                print(
                    f"  run {run + 1} {name:7}: {results[name][-1][0]:6.2f} s "
                    f"{results[name][-1][1]:6.0f} MB",
                    flush=True,
                )

        scaling: dict[int, list[float]] = {}
        if not args.skip_scaling:
            for count in (3, 10, 30):
                scaling[count] = []
                for run in range(args.runs):
                    wall, _ = measure(
                        [
                            python,
                            str(ROOT / "tools" / "bench_synth.py"),
                            "--synth-services",
                            str(count),
                        ],
                        synth_env(
                            "fast", f"{tmp}/scale-{count}-{run}", {"PAYMENT_SYNTH_WORKERS": "1"}
                        ),
                    )
                    scaling[count].append(wall)

        suite_seconds = None
        if args.suite:
            start = time.perf_counter()
            suite = subprocess.run(
                [python, "-m", "pytest", "-q", "-p", "no:randomly"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            if suite.returncode != 0:
                # A failing suite's time is no measurement of the suite.
                print(
                    f"bench: the test suite failed (exit {suite.returncode}); run "
                    "`.venv/bin/python -m pytest` and fix it first",
                    file=sys.stderr,
                )
                return 1
            suite_seconds = time.perf_counter() - start

    fast_t = median([r[0] for r in results["fast"]])
    plain_t = median([r[0] for r in results["plain"]])
    fast_m = max(r[1] for r in results["fast"])
    serial_t = median([r[0] for r in results["fast-1w"]])
    serial_m = max(r[1] for r in results["fast-1w"])
    plain_m = max(r[1] for r in results["plain"])
    ratio = fast_t / plain_t
    print()
    print(f"full synthesis, all environments ({args.runs} runs each, median wall time)")
    print(f"  plain import : {plain_t:6.2f} s   peak {plain_m:5.0f} MB")
    print(f"  fast, 1 proc : {serial_t:6.2f} s   peak {serial_m:5.0f} MB")
    print(f"  fast loader  : {fast_t:6.2f} s   peak {fast_m:5.0f} MB")
    print(
        f"  ratio        : {ratio:6.2f}x  (target <= {TARGET_RATIO}: {verdict(ratio <= TARGET_RATIO)})"
    )
    print(
        f"  fast median  : {fast_t:6.2f} s  (target < {TARGET_SECONDS} s: {verdict(fast_t < TARGET_SECONDS)})"
    )
    print(
        f"  fast peak    : {fast_m:6.0f} MB (target < {TARGET_MEMORY_MB} MB: {verdict(fast_m < TARGET_MEMORY_MB)})"
    )
    if scaling:
        print("scaling, one environment, one process (fast loader, median wall time)")
        for count, walls in scaling.items():
            print(f"  {count:2d} services : {median(walls):6.2f} s")
        growth = median(scaling[30]) / median(scaling[3])
        print(
            f"  30 vs 3      : {growth:6.2f}x  (target <= {TARGET_SCALING}: {verdict(growth <= TARGET_SCALING)})"
        )
    if suite_seconds is not None:
        print(
            f"test suite     : {suite_seconds:6.2f} s  (target < {TARGET_SUITE_SECONDS} s: "
            f"{verdict(suite_seconds < TARGET_SUITE_SECONDS)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
