"""The fast provider loader must be invisible in the output.

The session synthesis uses the fast loader (Python side: framework/aws.py;
Node side: framework/lazy_provider_index.js); the same app synthesized by
main.py with the plain package import (started in the background by
tests/conftest.py) must be byte-identical, stack by stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from framework.aws import aws
from framework.node_runtime import IMPORT_MODE_ENV, LAZY_PROVIDER_ENV

ROOT = Path(__file__).resolve().parent.parent


def test_session_uses_the_fast_loader(synth_outdir):
    assert aws.mode == "fast"
    import cdktf_cdktf_provider_aws as package

    assert getattr(package, "__payment_fast_loader__", False) is True
    # Only what the app uses is loaded, not ~2,200 modules.
    loaded = [m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")]
    assert 10 < len(loaded) < 200


def test_plain_import_synthesizes_byte_identical_stacks(synth_outdir, background_synthesis):
    """main.py with the plain import (started at collection, see conftest)
    writes exactly what the session wrote with the fast loader."""
    outdir, _ = synth_outdir
    returncode, stderr = background_synthesis.wait()
    assert returncode == 0, stderr[-2000:]
    fast = {p.relative_to(outdir): p.read_bytes() for p in outdir.rglob("*.json")}
    plain = {
        p.relative_to(background_synthesis.outdir): p.read_bytes()
        for p in background_synthesis.outdir.rglob("*.json")
    }
    assert sorted(fast) == sorted(plain)
    assert len(fast) >= 17  # 15 stacks, the manifest, the suppression report
    different = [str(name) for name in fast if fast[name] != plain[name]]
    assert different == []


def _probe(mode: str, code: str, extra_path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, IMPORT_MODE_ENV: mode}
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([extra_path, str(ROOT)])
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_unknown_mode_is_refused_with_allowed_values():
    result = _probe("turbo", "import framework.aws")
    assert result.returncode != 0
    assert "PAYMENT_PROVIDER_IMPORT='turbo' is not allowed; use 'fast' or 'plain'" in result.stderr


def test_falls_back_to_plain_import_when_layout_is_unexpected(tmp_path):
    # A provider package without the _jsii directory the fast path relies on
    # (a stand-in, so the fallback is proven without an 8 s full import).
    package = tmp_path / "cdktf_cdktf_provider_aws"
    package.mkdir()
    (package / "__init__.py").write_text("PLAIN_INIT_RAN = True\n")
    code = (
        "import sys\n"
        "from framework.aws import aws\n"
        "print(aws.mode, sys.modules['cdktf_cdktf_provider_aws'].PLAIN_INIT_RAN)\n"
    )
    result = _probe("fast", code, extra_path=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["plain", "True"]


NODE = os.environ.get("JSII_NODE") or shutil.which("node") or "node"
HOOK = ROOT / "framework" / "lazy_provider_index.js"
NPM = "@example/provider-aws"


# TypeScript's helpers for `export * as x from` (CDK Terrain's index starts with them).
TS_HELPERS = """var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
"""


def _fake_provider(tmp_path: Path, index_extra: str = "", layout: str = "cdktf") -> Path:
    package = tmp_path / "provider"
    (package / "lib" / "vpc").mkdir(parents=True)
    (package / "lib" / "subnet").mkdir(parents=True)
    (package / "package.json").write_text(f'{{"name": "{NPM}", "main": "lib/index.js"}}')
    if layout == "cdktf":
        helpers, lines = (
            "",
            ['exports.vpc = require("./vpc");', 'exports.subnet = require("./subnet");'],
        )
    else:
        helpers = TS_HELPERS
        lines = [
            'exports.vpc = __importStar(require("./vpc/index"));',
            'exports.subnet = __importStar(require("./subnet/index"));',
        ]
    (package / "lib" / "index.js").write_text(
        '"use strict";\n/** header */\n'
        + helpers
        + 'Object.defineProperty(exports, "__esModule", { value: true });\n'
        "exports.vpc = exports.subnet = void 0;\n" + "\n".join(lines) + "\n" + index_extra
    )
    for name in ("vpc", "subnet"):
        (package / "lib" / name / "index.js").write_text(
            f"globalThis.loaded = (globalThis.loaded || []).concat(['{name}']);\n"
            f"exports.Kind = '{name}';\n"
        )
    return package


def _load_with_hook(package: Path) -> list[str]:
    script = (
        f"const p = require({str(package)!r});"
        "const before = (globalThis.loaded || []).join(',');"
        "const kind = p.vpc.Kind;"
        "console.log(JSON.stringify([before, kind, (globalThis.loaded || []).join(','),"
        " Object.keys(p).join(','), String(globalThis.__paymentLazyProviderIndex)]));"
    )
    env = {**os.environ, LAZY_PROVIDER_ENV: NPM}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run(
        [NODE, "--require", str(HOOK), "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout)


@pytest.mark.parametrize("layout", ["cdktf", "cdktn"])
def test_js_index_hook_loads_provider_modules_on_first_use(tmp_path, layout):
    before, kind, after, keys, count = _load_with_hook(_fake_provider(tmp_path, layout=layout))
    assert (before, kind, after, keys, count) == ("", "vpc", "vpc", "vpc,subnet", "2")


def test_js_index_hook_applies_the_files_own_import_star(tmp_path):
    """A module without ``__esModule`` gets the namespace object the
    index's ``__importStar`` builds (with ``default``), as when eager."""
    package = _fake_provider(tmp_path, layout="cdktn")
    _, _, _, _, count = _load_with_hook(package)
    assert count == "2"
    script = (
        f"const p = require({str(package)!r});"
        "console.log(JSON.stringify([p.subnet.Kind, p.subnet.default.Kind, p.vpc === p.vpc]));"
    )
    result = subprocess.run(
        [NODE, "--require", str(HOOK), "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, LAZY_PROVIDER_ENV: NPM},
    )
    assert result.stdout.strip() == '["subnet","subnet",true]', result.stderr


def test_js_index_hook_falls_back_when_the_index_is_unexpected(tmp_path):
    package = _fake_provider(tmp_path, index_extra="exports.extra = 42;\n")
    before, kind, after, keys, count = _load_with_hook(package)
    # Loaded eagerly, exactly as without the hook.
    assert (before, kind, after, count) == ("vpc,subnet", "vpc", "vpc,subnet", "undefined")
    assert "extra" in keys.split(",")
