"""One reader of the synthesized output (guardrails/cdktf_out.py): what it
reads, and that nothing else spells the files it reads."""

from __future__ import annotations

import ast
from pathlib import Path

from guardrails import cdktf_out

ROOT = Path(__file__).resolve().parent.parent

#: Modules that may spell a cdktf.out file name themselves, with the reason.
OTHER_READERS = {
    # The terraform stand-in runs inside one stack's working directory, as
    # terraform does; it reads no output directory.
    "tests/standin_terraform.py",
    # The synthesis itself writes the output directory (the other engineer's
    # speed layer owns it; it writes, the reader reads).
    "stacks/synthesis.py",
}


def test_the_reader_lists_every_stack_of_the_manifest_with_its_environment(
    synth_outdir, environments
):
    outdir = synth_outdir[0]
    files = cdktf_out.stack_files(outdir)
    manifest = cdktf_out.manifest_stacks(outdir)
    assert set(files) == set(manifest)
    for name, entry in manifest.items():
        assert Path(outdir, entry["synthesizedStackPath"]).resolve() == files[name].resolve()
        assert cdktf_out.stack_path(outdir, name) == files[name]
    stacks = cdktf_out.read_stacks(outdir)
    assert stacks[next(iter(files))] == cdktf_out.read_stack(outdir, next(iter(files)))
    tagged = {cdktf_out.environment_of(stack) for stack in stacks.values()}
    assert tagged == set(environments)


def test_environment_of_reads_the_aws_default_tag_in_either_block_form():
    tags = {"default_tags": {"tags": {"environment": "qa"}}}
    assert cdktf_out.environment_of({"provider": {"aws": [tags]}}) == "qa"
    assert cdktf_out.environment_of({"provider": {"aws": tags}}) == "qa"
    assert cdktf_out.environment_of({"provider": {"aws": [{}]}}) is None
    assert cdktf_out.environment_of({}) is None


def test_an_empty_outdir_has_no_stacks(tmp_path):
    assert cdktf_out.stack_files(tmp_path) == {}
    assert cdktf_out.read_stacks(tmp_path) == {}


def test_no_other_module_spells_the_files_of_cdktf_out():
    """Tools, checks and test helpers read cdktf.out through the reader
    (test modules may build fixtures of their own)."""
    names = {cdktf_out.MANIFEST, cdktf_out.STACK_FILE}
    offenders = []
    for folder in ("config", "guardrails", "modules", "release", "stacks", "tools", "verify"):
        paths = list((ROOT / folder).rglob("*.py"))
        for path in paths:
            offenders += _spellings(path, names)
    for path in (ROOT / "tests").glob("*.py"):
        if not path.name.startswith("test_"):
            offenders += _spellings(path, names)
    assert offenders == []


def _spellings(path: Path, names: set[str]) -> list[str]:
    relative = path.relative_to(ROOT).as_posix()
    if relative in OTHER_READERS or path == Path(cdktf_out.__file__):
        return []
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in names or any(node.value.endswith(f"/{n}") for n in names):
                found.append(f"{relative}:{node.lineno}: {node.value!r}")
    return found
