"""How jsii's Node.js is started (framework/node_runtime.py and the direct
launcher framework/jsii_direct_runtime.js). Output equality of the fast
mode with the stock setup is proven in tests/test_provider_loader.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from framework import node_runtime
from framework.aws import STUB_PREFIX, aws
from framework.node_runtime import (
    BASE_OPTIONS_ENV,
    DIRECT_RUNTIME,
    LAZY_INDEX_HOOK,
    RUNTIME_DIR_ENV,
    configure,
)

ROOT = Path(__file__).resolve().parent.parent
NODE = str(node_runtime.PINNED_NODE) if node_runtime.PINNED_NODE.exists() else "node"
HOOK_OPTION = f'--require "{LAZY_INDEX_HOOK}"'


def test_fast_mode_runs_the_kernel_directly_with_the_lazy_index():
    environ = {"NODE_OPTIONS": "--max-http-header-size=16384"}
    assert configure(environ) == "fast"
    assert environ["JSII_RUNTIME"] == str(DIRECT_RUNTIME)
    runtime = Path(environ[RUNTIME_DIR_ENV])
    assert (runtime / "lib" / "program.js").is_file()
    assert (runtime / "bin" / "jsii-runtime.js").is_file()
    assert environ["NODE_OPTIONS"] == (
        f"--max-http-header-size=16384 --no-deprecation {HOOK_OPTION} --preserve-symlinks"
    )


def test_configure_is_idempotent():
    environ = {"NODE_OPTIONS": "--no-deprecation"}
    configure(environ)
    first = dict(environ)
    configure(environ)
    assert environ["NODE_OPTIONS"] == first["NODE_OPTIONS"]
    assert environ["NODE_OPTIONS"].count("--preserve-symlinks") == 1


def test_plain_child_of_a_fast_parent_gets_the_stock_setup():
    parent = {"NODE_OPTIONS": "--trace-warnings"}
    configure(parent)
    child = {**parent, "PAYMENT_PROVIDER_IMPORT": "plain"}
    assert configure(child) == "plain"
    assert "JSII_RUNTIME" not in child and RUNTIME_DIR_ENV not in child
    assert child["NODE_OPTIONS"] == "--trace-warnings --no-deprecation"
    assert child[BASE_OPTIONS_ENV] == "--trace-warnings"


def test_a_runtime_chosen_by_the_caller_wins():
    environ = {"JSII_RUNTIME": "/opt/custom-runtime.js"}
    configure(environ)
    assert environ["JSII_RUNTIME"] == "/opt/custom-runtime.js"
    assert "--preserve-symlinks" not in environ["NODE_OPTIONS"]
    assert HOOK_OPTION in environ["NODE_OPTIONS"]


def test_other_jsii_releases_use_the_stock_launcher(monkeypatch):
    monkeypatch.setattr(node_runtime, "DIRECT_RUNTIME_JSII", "0.0.1")
    environ: dict[str, str] = {}
    configure(environ)
    assert "JSII_RUNTIME" not in environ
    assert environ["NODE_OPTIONS"] == f"--no-deprecation {HOOK_OPTION}"


def test_unknown_mode_names_the_variable_and_the_allowed_values():
    with pytest.raises(
        ValueError, match="PAYMENT_PROVIDER_IMPORT='turbo' is not allowed; use 'fast' or 'plain'"
    ):
        configure({"PAYMENT_PROVIDER_IMPORT": "turbo"})


# -- the launcher, in Node, with a stand-in kernel ---------------------------


def _runtime_dir(tmp_path: Path, program: str) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib" / "program.js").write_text(program)
    (tmp_path / "bin" / "jsii-runtime.js").write_text(
        "require('fs').writeSync(1, 'stock launcher\\n');\n"
    )
    return tmp_path


def _launch(runtime_dir: Path, node_options: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, RUNTIME_DIR_ENV: str(runtime_dir), "NODE_OPTIONS": node_options}
    return subprocess.run(
        [NODE, str(DIRECT_RUNTIME)],
        input="ping\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_launcher_maps_the_kernel_channel_to_stdin_and_stdout(tmp_path):
    kernel = _runtime_dir(
        tmp_path,
        (
            "// new SyncStdio({readFD:3,writeFD:3}) stand-in\n"
            "const fs = require('fs');\n"
            "const buffer = Buffer.alloc(64);\n"
            "const read = fs.readSync(3, buffer, 0, 64, null);\n"
            "const line = buffer.subarray(0, read).toString().trim();\n"
            "console.log('console says hi');\n"
            "fs.writeSync(2, 'kernel debug\\n');\n"
            "fs.writeSync(3, JSON.stringify({got: line,"
            " preserve: process.execArgv.includes('--preserve-symlinks')}) + '\\n');\n"
        ),
    )
    result = _launch(kernel, node_options="--preserve-symlinks")
    assert result.returncode == 0, result.stderr
    # stdout carries only the protocol...
    assert json.loads(result.stdout) == {"got": "ping", "preserve": True}
    # ...console output goes to stderr as the JSON lines jsii's Python side decodes.
    forwarded = [json.loads(line) for line in result.stderr.splitlines()]
    import base64

    decoded = [(k, base64.b64decode(v).decode()) for entry in forwarded for k, v in entry.items()]
    assert decoded == [("stdout", "console says hi\n"), ("stderr", "kernel debug\n")]


def test_launcher_runs_the_stock_launcher_for_an_unexpected_kernel(tmp_path):
    kernel = _runtime_dir(tmp_path, "require('fs').writeSync(1, 'kernel ran directly\\n');\n")
    result = _launch(kernel)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stock launcher\n"


# -- the real thing --------------------------------------------------------

PROBE = """
import os, sys
sys.path.insert(0, {root!r})
from framework import App, TerraformStack
from framework.aws import aws
app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "probe")
aws.provider.AwsProvider(stack, "aws", region="eu-west-1")
aws.s3_bucket.S3Bucket(stack, "bucket", bucket="probe-bucket")
app.synth()
def parent(pid):
    # Other processes of the machine may end between listdir and open.
    try:
        with open(f"/proc/{{pid}}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[1]
    except (FileNotFoundError, ProcessLookupError):
        return None
node = [p for p in os.listdir("/proc") if p.isdigit() and parent(p) == str(os.getpid())]
children = [c for n in node for c in os.listdir("/proc") if c.isdigit() and parent(c) == n]
print(len(node), len(children))
"""


def _start_probe(out: Path, jsii_runtime: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "PAYMENT_PROVIDER_IMPORT": "fast"}
    env.pop("JSII_RUNTIME", None)
    if jsii_runtime:
        env["JSII_RUNTIME"] = jsii_runtime
    return subprocess.Popen(
        [sys.executable, "-c", PROBE.format(root=str(ROOT)), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _probe_result(probe: subprocess.Popen, out: Path) -> tuple[list[str], bytes]:
    with probe:
        try:
            stdout, stderr = probe.communicate(timeout=300)
        except BaseException:
            probe.kill()
            raise
    assert probe.returncode == 0, stderr[-2000:]
    return stdout.split()[-2:], (out / "stacks" / "probe" / "cdk.tf.json").read_bytes()


def test_direct_launcher_saves_the_relay_process_and_changes_nothing(tmp_path):
    # The two probes run at once (each counts only its own processes).
    stock = str(Path(os.environ[RUNTIME_DIR_ENV]) / "bin" / "jsii-runtime.js")
    probes = {
        "direct": _start_probe(tmp_path / "direct"),
        "stock": _start_probe(tmp_path / "stock", jsii_runtime=stock),
    }
    try:
        direct_processes, direct = _probe_result(probes["direct"], tmp_path / "direct")
        stock_processes, plain = _probe_result(probes["stock"], tmp_path / "stock")
    finally:
        for probe in probes.values():
            if probe.poll() is None:
                probe.kill()
                probe.communicate()
    # Python's Node child: the kernel itself, or the stock relay with the kernel below it.
    assert stock_processes == ["1", "1"]
    # Fails after a jsii upgrade: re-check the launcher against the new kernel,
    # then update DIRECT_RUNTIME_JSII (framework/node_runtime.py).
    assert direct_processes == ["1", "0"], "direct jsii launcher not in use"
    assert direct == plain
    assert json.loads(direct)["resource"]["aws_s3_bucket"]["bucket"]["bucket"] == "probe-bucket"


def test_provider_type_checks_still_run_with_cached_signatures():
    bucket_module = aws.s3_bucket._private
    assert bucket_module.typing is not __import__("typing")
    stub = next(v for k, v in vars(bucket_module).items() if k.startswith(STUB_PREFIX))
    assert bucket_module.typing.get_type_hints(stub) is bucket_module.typing.get_type_hints(stub)
    from framework import App, TerraformStack

    stack = TerraformStack(App(), "type-check")
    with pytest.raises(TypeError, match="id_"):
        aws.s3_bucket.S3Bucket(stack, 123)


def test_none_is_accepted_at_once_only_where_the_type_is_optional():
    from framework import App, TerraformStack

    module = aws.s3_bucket._private
    assert module.check_type.__wrapped__ is not None  # the None-first wrapper is in place
    stack = TerraformStack(App(), "none-first")
    aws.s3_bucket.S3Bucket(stack, "unset", bucket=None)  # optional: fine
    with pytest.raises(TypeError, match="type of argument id_ must be str"):
        aws.s3_bucket.S3Bucket(stack, None)  # required: still refused
    with pytest.raises(TypeError, match="type of argument bucket must be one of"):
        aws.s3_bucket.S3Bucket(stack, "wrong", bucket=123)  # wrong type: still refused


def test_provider_modules_see_typing_forms_that_remember_subscriptions():
    import typing

    provider_typing = aws.s3_bucket._private.typing
    for form, args in (
        ("Optional", str),
        ("Union", (str, int)),
        ("List", str),
        ("Mapping", (str, int)),
        ("Sequence", str),
        ("Dict", (str, int)),
    ):
        cached = getattr(provider_typing, form)
        # typing's own object, equal to a fresh subscription, the same one every time
        assert cached[args] == getattr(typing, form)[args]
        assert cached[args] is cached[args]
    # The typing forms themselves are under test here, not annotations.
    assert (
        provider_typing.Optional[provider_typing.Union[str, int]]
        == typing.Optional[  # noqa: UP045
            str | int
        ]
    )


# -- the benchmark's ablation shim (tools/bench/ablation, D53) ---------------


def _fresh(path: Path, name: str):
    """A private copy of a module file (the shim's patches must not touch
    the session's modules)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ablation_shim_switches_the_node_techniques_off(monkeypatch):
    """`tools/bench/bench_synth.py --ablation` measures a technique by patching it
    out; a rename in framework/ must not leave it silently on."""
    monkeypatch.delenv("PAYMENT_BENCH_ABLATE", raising=False)
    shim = _fresh(ROOT / "tools" / "bench" / "ablation" / "sitecustomize.py", "_shim_under_test")
    runtime = _fresh(ROOT / "framework" / "node_runtime.py", "_node_runtime_under_test")
    shim._no_lazy_index(runtime)
    shim._stock_launcher(runtime)
    environ = {"NODE_OPTIONS": "--trace-warnings"}
    assert runtime.configure(environ) == "fast"
    assert "JSII_RUNTIME" not in environ
    assert environ["NODE_OPTIONS"] == "--trace-warnings --no-deprecation"


def test_ablation_shim_patches_names_that_exist():
    import framework.aws

    for module, name in (
        (framework.aws, "_TYPING"),
        (framework.aws, "_none_first"),
    ):
        assert hasattr(module, name), f"{module.__name__}.{name}: update tools/bench/ablation"
