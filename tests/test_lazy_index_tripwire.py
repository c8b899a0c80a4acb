"""Tripwire: the fast loader's JS hook must make the real provider index lazy.

If framework/lazy_provider_index.js stopped recognising the index it would
load every module (seconds and hundreds of MB more) with byte-identical
output, so no other test would notice. This checks the installed cdktf
provider; the CDK Terrain one runs in `make terrain-check` (its package needs
constructs <10.8, which the main lock cannot hold).
"""

from __future__ import annotations

import importlib
import io
import tarfile

from framework.aws import PACKAGE
from framework.distribution import ACTIVE
from framework.index_probe import probe, provider_assembly


def test_hook_makes_the_real_provider_index_lazy():
    package_dir = importlib.import_module(PACKAGE).__path__[0]
    result = probe(provider_assembly(package_dir), ACTIVE.provider_npm)
    assert result.detail == ""
    assert result.re_exports > 2000
    assert result.lazy_exports == result.re_exports


def test_probe_reports_an_index_the_hook_does_not_handle(tmp_path):
    index = 'exports.vpc = require("./vpc");\nexports.extra = 42;\n'
    files = {"package/lib/index.js": index, "package/package.json": '{"name": "@x/provider"}'}
    assembly = tmp_path / "_jsii" / "provider@1.0.0.jsii.tgz"
    assembly.parent.mkdir()
    with tarfile.open(assembly, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    result = probe(provider_assembly(tmp_path), "@x/provider")
    assert not result.lazy
    assert result.detail.startswith("unexpected statement: exports.extra = 42;")
