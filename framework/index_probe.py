"""Tripwire: does the fast loader's JS hook make a real provider index lazy?

If ``framework/lazy_provider_index.js`` does not recognise the provider's
``lib/index.js`` it loads every module (correct output, several seconds and
hundreds of MB more) and the synthesized JSON cannot tell. This loads the
real index from a provider's jsii assembly with the hook, in a directory
holding only ``lib/index.js`` and ``package.json``: lazily it loads nothing
else; eagerly its first ``require`` fails. Used by
tests/test_lazy_index_tripwire.py (cdktf, in the main suite) and
tools/checks/terrain_check.py (CDK Terrain).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from framework.node_runtime import LAZY_INDEX_HOOK, LAZY_PROVIDER_ENV, LAZY_REPORT_ENV, PINNED_NODE

_RE_EXPORT = re.compile(r"^exports\.\w+ = (?:__importStar\()?require\(", re.MULTILINE)


@dataclass(frozen=True)
class IndexProbe:
    package: str
    re_exports: int  # re-export lines in lib/index.js
    lazy_exports: int | None  # exports the hook made lazy; None: loaded eagerly
    detail: str  # the hook's reason for a fallback, or Node's error

    @property
    def lazy(self) -> bool:
        return self.lazy_exports is not None and self.lazy_exports == self.re_exports


def provider_assembly(package_dir: Path) -> Path:
    """The ``*.jsii.tgz`` of an installed provider package."""
    found = sorted(Path(package_dir, "_jsii").glob("*.jsii.tgz"))
    if not found:
        raise FileNotFoundError(f"no _jsii/*.jsii.tgz in {package_dir}")
    return found[0]


def _extract(assembly: Path, members: tuple[str, ...], target: str) -> None:
    """Extracts ``members`` of the gzipped tarball in one pass that stops at
    the last one (``TarFile.extract`` by name reads the whole archive first,
    then decompresses it again from the start for each member: ~2.5 s of
    the 35 MB cdktf provider assembly instead of ~0.9 s)."""
    missing = set(members)
    with tarfile.open(assembly, "r:gz") as archive:
        for info in archive:
            if info.name in missing:
                archive.extract(info, target, filter="data")
                missing.discard(info.name)
                if not missing:
                    return
    raise KeyError(f"{assembly}: no {', '.join(sorted(missing))}")


def probe(assembly: Path, provider_npm: str, node: str | None = None) -> IndexProbe:
    """Loads the assembly's ``lib/index.js`` with the hook (see module doc)."""
    node = node or os.environ.get("JSII_NODE") or str(PINNED_NODE)
    with tempfile.TemporaryDirectory(prefix="payment-index-probe-") as tmp:
        _extract(assembly, ("package/lib/index.js", "package/package.json"), tmp)
        index = Path(tmp, "package", "lib", "index.js")
        re_exports = len(_RE_EXPORT.findall(index.read_text()))
        report = Path(tmp, "report.jsonl")
        script = (
            f"const p = require({json.dumps(str(index))});"
            "console.log(JSON.stringify(Object.keys(p).length));"
        )
        env = {**os.environ, LAZY_PROVIDER_ENV: provider_npm, LAZY_REPORT_ENV: str(report)}
        env.pop("NODE_OPTIONS", None)
        result = subprocess.run(
            [node, "--require", str(LAZY_INDEX_HOOK), "-e", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        verdicts = (
            [json.loads(line) for line in report.read_text().splitlines()]
            if (report.exists())
            else []
        )
    lazy = [v["modules"] for v in verdicts if v.get("lazy")]
    if result.returncode == 0 and lazy:
        return IndexProbe(provider_npm, re_exports, lazy[0], "")
    reasons = [v.get("reason", "") for v in verdicts if not v.get("lazy")]
    errors = [line for line in result.stderr.splitlines() if "Error" in line]
    detail = reasons[0] if reasons else (errors or ["not handled by the hook"])[0]
    return IndexProbe(provider_npm, re_exports, None, detail.strip())
