"""Benchmark: synthesis time and memory, fast provider loader vs plain import.

Run from the project root: ``make bench`` (or ``.venv/bin/python
tools/bench/bench_synth.py``). In one run it measures, on this machine:

1. cold ``python main.py`` synthesis of all environments, alternating the fast
   loader and the plain import (``PAYMENT_PROVIDER_IMPORT=plain``), ``--runs``
   times each: median wall time, the ratio, and peak memory (RSS of all
   processes: main.py and jsii's Node.js, sampled every 100 ms);
2. a scaling series: one environment with 3, 10 and 30 services (fast loader);
3. with ``--suite``: the wall time of the whole pytest suite (set-up excluded).

``--ablation`` measures instead what each technique of docs/performance.md
earns: the full synthesis with everything on, with each technique switched
off in turn (tools/bench/ablation/sitecustomize.py, which patches the
technique out at import time; the project has no switch for it), and the
plain import, all interleaved (the order rotates every run) in one
invocation. ``--ablate a,b`` runs the usual measurements with those
techniques off, to check the targets without them.

Figures are medians of several runs; the machine is noisy, so the baseline
(plain import) runs interleaved with the candidate in the same invocation.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 0.35
TARGET_SECONDS = 5.0
TARGET_MEMORY_MB = 700
TARGET_SCALING = 2.0
TARGET_SUITE_SECONDS = 60.0
ABLATION_DIR = ROOT / "tools" / "bench" / "ablation"
ABLATE_VARIABLE = "PAYMENT_BENCH_ABLATE"
#: A technique must earn this share of the fast-mode time (or be needed for a
#: target) to stay (docs/performance.md, D53).
KEEP_SHARE = 0.10


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
    wall, peak, _ = measure_cpu(cmd, env)
    return wall, peak


def measure_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Runs ``cmd``; returns (wall seconds, peak tree RSS in MB, CPU seconds).

    CPU: user + system time of the process and of every descendant it waited
    for (jsii's Node.js), which a busy machine disturbs less
    than the wall time."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-3000:]}")
    return wall, peak / 1024, usage.ru_utime + usage.ru_stime


def synth_env(
    mode: str, outdir: str, extra: dict[str, str] | None = None, ablate: str = ""
) -> dict[str, str]:
    env = {**os.environ, "PAYMENT_PROVIDER_IMPORT": mode, "CDKTF_OUTDIR": outdir}
    env.pop("PAYMENT_ENVIRONMENTS", None)
    env.pop(ABLATE_VARIABLE, None)
    if ablate:
        env[ABLATE_VARIABLE] = ablate
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ABLATION_DIR), env.get("PYTHONPATH", "")) if p
        )
    env.update(extra or {})
    return env


def techniques() -> dict[str, str]:
    """The techniques the ablation shim can switch off: name -> what."""
    spec = importlib.util.spec_from_file_location(
        "_bench_ablation", ABLATION_DIR / "sitecustomize.py"
    )
    assert spec is not None and spec.loader is not None
    shim = importlib.util.module_from_spec(spec)
    saved = os.environ.pop(ABLATE_VARIABLE, None)  # read it, switch nothing off here
    try:
        spec.loader.exec_module(shim)
    finally:
        if saved is not None:
            os.environ[ABLATE_VARIABLE] = saved
    return dict(shim.TECHNIQUES)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def ablation(runs: int, chosen: list[str], base_off: str = "") -> int:
    """The ablation table: each technique off in turn, against all on and the
    plain import, interleaved in one run."""
    known = techniques()
    # "a+b": one variant with both off.
    base_parts = [t for t in base_off.split(",") if t]
    unknown = [part for t in [*chosen, *base_parts] for part in t.split("+") if part not in known]
    if unknown:
        raise SystemExit(f"--techniques: unknown {unknown}; known: {', '.join(known)}")
    names = chosen or list(known)
    python = sys.executable

    def off(*parts: str) -> str:
        return ",".join([*base_parts, *(p for t in parts for p in t.split("+"))]) or "none"

    # "all on" runs through the shim too (with nothing switched off), so every
    # variant pays the same start-up. With --base, "all on" means all but those.
    variants = {"all on": ("fast", off())} | {f"no {t}": ("fast", off(t)) for t in names}
    variants["plain import"] = ("plain", off() if base_parts else "")
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    order = list(variants)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for mode in ("fast", "plain"):
            measure([python, "main.py"], synth_env(mode, f"{tmp}/warm-{mode}"))
        for run in range(runs):
            shift = run % len(order)
            for name in order[shift:] + order[:shift]:
                mode, ablate = variants[name]
                results[name].append(
                    measure_cpu([python, "main.py"], synth_env(mode, f"{tmp}/{run}", ablate=ablate))
                )
                wall, peak, cpu = results[name][-1]
                print(
                    f"  run {run + 1} {name:20}: {wall:6.2f} s {peak:6.0f} MB  cpu {cpu:6.2f} s",
                    flush=True,
                )
    base = median([r[0] for r in results["all on"]])
    base_cpu = median([r[2] for r in results["all on"]])
    plain = median([r[0] for r in results["plain import"]])
    print()
    print(
        f"ablation, full synthesis of all environments ({runs} runs each, interleaved; "
        "median (min-max) of the wall time and of the CPU time of the process tree; "
        "peak RSS of the tree)"
    )
    print(
        "| variant | wall s | cost when off (share of all-on wall) "
        "| CPU s | cost when off (share of all-on CPU) | peak MB |"
    )
    print("|---|---|---|---|---|---|")
    for name, values in results.items():
        walls, cpus = [r[0] for r in values], [r[2] for r in values]
        cost, cpu_cost = median(walls) - base, median(cpus) - base_cpu
        print(
            f"| {name} | {median(walls):.2f} ({spread(walls)}) | {cost:+.2f} s ({cost / base:+.0%}) "
            f"| {median(cpus):.2f} ({spread(cpus)}) | {cpu_cost:+.2f} s ({cpu_cost / base_cpu:+.0%}) "
            f"| {max(r[1] for r in values):.0f} |"
        )
    if base_parts:
        print(f"all on: all but {', '.join(base_parts)} (--ablate)")
    print(f"all on / plain import: {base / plain:.2f}x")
    return 0


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


def suite_ablation(runs: int, chosen: list[str]) -> int:
    """The suite's wall time with parts of its scheduling machinery off
    (tools/bench/ablation/suite_ablation.py), against all on, interleaved."""
    python = sys.executable
    variants = {"all on": ""} | {f"no {c}": c.replace("+", ",") for c in chosen}
    results: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for run in range(runs):
        shift = run % len(order)
        for name in order[shift:] + order[:shift]:
            env = {**os.environ, "PAYMENT_BENCH_SUITE_ABLATE": variants[name]}
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(ABLATION_DIR), env.get("PYTHONPATH", "")) if p
            )
            start = time.perf_counter()
            suite = subprocess.run(
                [python, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "suite_ablation"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            wall = time.perf_counter() - start
            tail = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
            results[name].append(wall)
            print(f"  run {run + 1} {name:30}: {wall:6.2f} s  {tail}", flush=True)
    base = median(results["all on"])
    print()
    print(f"ablation, whole test suite ({runs} runs each, interleaved; median wall time, min-max)")
    print("| variant | median s | min-max s | cost of switching it off | share |")
    print("|---|---|---|---|---|")
    for name, walls in results.items():
        cost = median(walls) - base
        print(
            f"| {name} | {median(walls):.2f} | {spread(walls)} | {cost:+.2f} s | {cost / base:+.0%} |"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per variant (default 5)")
    parser.add_argument("--suite", action="store_true", help="also time the pytest suite")
    parser.add_argument(
        "--suite-runs", type=int, default=3, help="with --suite: runs of the suite (default 3)"
    )
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument(
        "--ablation", action="store_true", help="what each technique earns (docs/performance.md)"
    )
    parser.add_argument(
        "--techniques",
        default="",
        help="with --ablation: only these (comma-separated; a+b: both off at once)",
    )
    parser.add_argument(
        "--ablate", default="", help="measure with these techniques off (comma-separated)"
    )
    parser.add_argument(
        "--suite-ablation",
        default="",
        help="time the suite with these parts of its machinery off (comma-separated; a+b)",
    )
    parser.add_argument("--synth-services", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synth_services:
        synth_scaled(args.synth_services)
        return 0
    if args.runs < 1:
        parser.error(f"--runs: {args.runs} is not allowed; use 1 or more")
    if args.suite_ablation:
        return suite_ablation(args.runs, [c for c in args.suite_ablation.split(",") if c])
    if args.ablation:
        return ablation(args.runs, [t for t in args.techniques.split(",") if t], args.ablate)

    python = sys.executable
    results: dict[str, list[tuple[float, float]]] = {"fast": [], "plain": []}
    variants: dict[str, tuple[str, dict[str, str]]] = {"fast": ("fast", {}), "plain": ("plain", {})}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # One unmeasured warm-up per variant fills the pyc and jsii caches.
        for mode in ("fast", "plain"):
            measure([python, "main.py"], synth_env(mode, f"{tmp}/warm-{mode}"))
        for run in range(args.runs):
            for name, (mode, extra) in variants.items():
                results[name].append(
                    measure(
                        [python, "main.py"],
                        synth_env(
                            mode,
                            f"{tmp}/{name}-{run}",
                            extra,
                            ablate=args.ablate if mode == "fast" else "",
                        ),
                    )
                )
                print(
                    f"  run {run + 1} {name:7}: {results[name][-1][0]:6.2f} s "
                    f"{results[name][-1][1]:6.0f} MB",
                    flush=True,
                )

        scaling: dict[int, list[float]] = {}
        if not args.skip_scaling:
            # Interleaved (3, 10, 30, 3, 10, 30, ...): a slow minute of a
            # noisy machine falls on every size alike, not on one.
            for run in range(args.runs):
                for count in (3, 10, 30):
                    scaling.setdefault(count, [])
                    wall, _ = measure(
                        [
                            python,
                            str(ROOT / "tools" / "bench" / "bench_synth.py"),
                            "--synth-services",
                            str(count),
                        ],
                        synth_env(
                            "fast",
                            f"{tmp}/scale-{count}-{run}",
                            ablate=args.ablate,
                        ),
                    )
                    scaling[count].append(wall)

        suite_walls: list[float] = []
        for _ in range(args.suite_runs if args.suite else 0):
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
            suite_walls.append(time.perf_counter() - start)

    fast_t = median([r[0] for r in results["fast"]])
    plain_t = median([r[0] for r in results["plain"]])
    fast_m = max(r[1] for r in results["fast"])
    plain_m = max(r[1] for r in results["plain"])
    ratio = fast_t / plain_t
    print()
    print(f"full synthesis, all environments ({args.runs} runs each, median wall time)")
    print(f"  plain import : {plain_t:6.2f} s   peak {plain_m:5.0f} MB")
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
            print(
                f"  {count:2d} services : {median(walls):6.2f} s"
                f"  (spread {min(walls):.2f}-{max(walls):.2f} s)"
            )
        # The median of each interleaved run's own 30/3 ratio: both sizes
        # of a run saw the same minute of the machine.
        ratios = [big / small for small, big in zip(scaling[3], scaling[30], strict=True)]
        growth = median(ratios)
        print(f"  ratios       : {', '.join(f'{r:.2f}' for r in ratios)}")
        print(
            f"  30 vs 3      : {growth:6.2f}x  (target <= {TARGET_SCALING}: {verdict(growth <= TARGET_SCALING)})"
        )
    if suite_walls:
        suite_seconds = median(suite_walls)
        print(
            f"test suite     : {suite_seconds:6.2f} s  ({len(suite_walls)} runs, "
            f"{spread(suite_walls)} s; target < {TARGET_SUITE_SECONDS} s: "
            f"{verdict(suite_seconds < TARGET_SUITE_SECONDS)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
