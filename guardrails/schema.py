"""Validates argument names of synthesized stacks against the AWS provider schema.

Why: jsii drops unknown keys of nested dicts silently, and escape hatches
(``add_override``) write whatever path they are given. Terraform would reject
a misspelled argument at ``plan``, which cannot run here (no provider binary),
so we check names at synth/test time instead.

Where the schema comes from: the prebuilt provider wheel ships its jsii
assembly (``_jsii/provider-aws@<version>.jsii.tgz``, member ``package/.jsii``).
Package, assembly prefix and the core's base classes (``cdktf.Terraform*``
or ``cdktn.Terraform*``) come from ``framework.distribution.ACTIVE``.
Every resource/data-source class names its Terraform type in its docs summary
(``{@link .../docs/resources/ecs_service aws_ecs_service}``), its initializer
takes a ``...Config`` struct, and every struct property documents its
Terraform attribute as the anchor of a registry link (``...#deployment_controller``).
A property typed as another struct of the assembly (directly, as an array or
union member) is a nested block; a map of structs is a map of blocks.

Reading the 130 MB assembly takes ~5 s, so the derived table (a few MB) is
cached as JSON under ``$PAYMENT_GUARDRAILS_CACHE`` (default
``~/.cache/payment-guardrails``), keyed by the assembly's path, size and mtime.

Usage::

    from guardrails.schema import load_schema, validate_stack
    problems = validate_stack("payment-dev-network", stack_json, load_schema())

or ``.venv/bin/python -m guardrails.schema [cdktf.out]`` (exit 1 on any problem).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from framework.distribution import ACTIVE
from guardrails.cdktf_out import read_stacks, stack_files

PROVIDER_PACKAGE = ACTIVE.provider_package
ASSEMBLY_PREFIX = ACTIVE.assembly_prefix
CORE = ACTIVE.core
CACHE_ENV = "PAYMENT_GUARDRAILS_CACHE"
# Bump when the cached table's layout changes.
CACHE_FORMAT = 1

# Terraform meta-arguments (and the cdktf metadata key) valid on every block of
# that kind whatever the provider schema says.
RESOURCE_META = frozenset(
    {"//", "count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
)
DATA_META = frozenset({"//", "count", "for_each", "depends_on", "lifecycle", "provider"})
PROVIDER_META = frozenset({"//", "alias"})

# Built into Terraform itself, so absent from the AWS provider assembly.
# "*" marks an attribute whose value is free-form (not checked inside).
_BUILTIN = {
    ("data", "terraform_remote_state"): {
        "backend": None,
        "config": None,
        "defaults": None,
        "workspace": None,
    },
    ("resource", "terraform_data"): {"input": None, "triggers_replace": None},
}

_TYPE_IN_SUMMARY = re.compile(
    r"\{@link https://registry\.terraform\.io/providers/hashicorp/aws/[^/]+/docs"
    r"(?:/(resources|data-sources)/[\w]+)? (\w+)\}"
)
_ATTRIBUTE_ANCHOR = re.compile(r"\{@link \S+#([\w-]+) ")


@dataclass(frozen=True)
class Schema:
    """Valid argument names, derived from the provider assembly.

    ``structs`` maps a struct id to ``{argument: child}``; ``child`` is None for
    a plain attribute (its value is not inspected), ``["block", id]`` for a
    nested block (object or list of objects) and ``["map", id]`` for a map
    whose values are blocks. ``roots`` maps ``(section, type)`` to a struct id,
    section being ``resource``, ``data`` or ``provider``.
    """

    structs: dict[str, dict[str, Any]]
    roots: dict[tuple[str, str], str]
    provider_version: str

    def arguments(self, struct_id: str) -> dict[str, Any]:
        return self.structs[struct_id]


@dataclass(frozen=True)
class Problem:
    stack: str
    address: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.address}" + (f" at {self.path}" if self.path else "")
        return f"{self.stack}: {where}: {self.message}"


# --------------------------------------------------------------------------
# Building the table from the jsii assembly
# --------------------------------------------------------------------------


def assembly_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(PROVIDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PROVIDER_PACKAGE} is not installed; run `make setup`")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location, "_jsii").glob("*.jsii.tgz"))
        if found:
            return found[0]
    raise RuntimeError(f"no *.jsii.tgz found in {PROVIDER_PACKAGE}/_jsii")


def _read_assembly(path: Path) -> dict:
    with tarfile.open(path, "r:gz") as archive:
        member = archive.extractfile("package/.jsii")
        if member is None:
            raise RuntimeError(f"{path} has no package/.jsii")
        return json.load(member)


def build_schema(assembly: dict, prefix: str = ASSEMBLY_PREFIX, core: str = CORE) -> Schema:
    """``prefix``: the provider's fqn prefix; ``core``: the assembly name of
    the core whose ``Terraform*`` classes resources extend."""
    types: dict[str, dict] = assembly["types"]
    structs: dict[str, dict[str, Any]] = {}

    def short(fqn: str) -> str:
        return fqn[len(prefix) :]

    def is_struct(fqn: str) -> bool:
        return fqn.startswith(prefix) and bool(types.get(fqn, {}).get("datatype"))

    def child_of(type_ref: dict) -> Any:
        if "fqn" in type_ref:
            return ["block", add_struct(type_ref["fqn"])] if is_struct(type_ref["fqn"]) else None
        if "collection" in type_ref:
            element = type_ref["collection"]["elementtype"]
            if "fqn" in element and is_struct(element["fqn"]):
                kind = "map" if type_ref["collection"]["kind"] == "map" else "block"
                return [kind, add_struct(element["fqn"])]
            return None
        if "union" in type_ref:
            for option in type_ref["union"]["types"]:
                child = child_of(option)
                if child is not None:
                    return child
        return None

    def properties(fqn: str) -> Iterator[dict]:
        spec = types[fqn]
        yield from spec.get("properties", [])
        for parent in spec.get("interfaces", []):
            # <core>.TerraformMetaArguments etc. are handled as meta-arguments.
            if is_struct(parent):
                yield from properties(parent)

    def add_struct(fqn: str) -> str:
        key = short(fqn)
        if key in structs:
            return key
        arguments: dict[str, Any] = {}
        structs[key] = arguments  # registered first: some structs are recursive
        for prop in properties(fqn):
            docs = prop.get("docs", {})
            anchor = _ATTRIBUTE_ANCHOR.search(
                docs.get("summary", "") + " " + docs.get("remarks", "")
            )
            name = (
                anchor.group(1)
                if anchor
                else re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), prop["name"])
            )
            arguments[name] = child_of(prop["type"])
        return key

    roots: dict[tuple[str, str], str] = {}
    sections = {
        f"{core}.TerraformResource": "resource",
        f"{core}.TerraformDataSource": "data",
        f"{core}.TerraformProvider": "provider",
    }
    for fqn, spec in types.items():
        section = sections.get(spec.get("base", ""))
        if section is None or spec.get("kind") != "class":
            continue
        match = _TYPE_IN_SUMMARY.search(spec.get("docs", {}).get("summary", ""))
        if match is None:
            raise RuntimeError(f"cannot read the Terraform type of {fqn} from its docs")
        config = next(
            (
                p["type"]["fqn"]
                for p in spec.get("initializer", {}).get("parameters", [])
                if p["name"] == "config"
            ),
            None,
        )
        if config is None:
            raise RuntimeError(f"{fqn} has no config parameter")
        roots[(section, match.group(2))] = add_struct(config)

    for (section, tf_type), arguments in _BUILTIN.items():
        key = f"builtin.{section}.{tf_type}"
        structs[key] = dict(arguments)
        roots[(section, tf_type)] = key
    return Schema(structs=structs, roots=roots, provider_version=str(assembly.get("version")))


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------


def _cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "payment-guardrails"


def _cache_file(assembly: Path) -> Path:
    stat = assembly.stat()
    key = f"{CACHE_FORMAT}|{assembly.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return _cache_dir() / f"aws-schema-{digest}.json"


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """The provider schema, from the cache when it matches the installed wheel."""
    assembly = assembly_path()
    cache = _cache_file(assembly)
    try:
        raw = json.loads(cache.read_text())
        return Schema(
            structs=raw["structs"],
            roots={tuple(k.split(" ", 1)): v for k, v in raw["roots"].items()},
            provider_version=raw["provider_version"],
        )
    except (OSError, ValueError, KeyError):
        pass
    schema = build_schema(_read_assembly(assembly))
    payload = {
        "structs": schema.structs,
        "roots": {f"{s} {t}": v for (s, t), v in schema.roots.items()},
        "provider_version": schema.provider_version,
    }
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: several test processes may build the cache at the same time.
        with tempfile.NamedTemporaryFile("w", dir=cache.parent, delete=False, suffix=".tmp") as out:
            json.dump(payload, out, separators=(",", ":"))
        os.replace(out.name, cache)
    except OSError:
        pass  # a read-only home only costs the rebuild next time
    return schema


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _suggest(name: str, allowed: Any) -> str:
    close = difflib.get_close_matches(name, list(allowed), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_block(
    schema: Schema, struct_id: str, body: Any, path: str, meta: frozenset[str], report
) -> None:
    if isinstance(body, list):
        for index, item in enumerate(body):
            _check_block(schema, struct_id, item, f"{path}[{index}]", meta, report)
        return
    if not isinstance(body, dict):
        return  # a token such as "${...}" for a whole block: nothing to check
    arguments = schema.arguments(struct_id)
    for key, value in body.items():
        here = f"{path}.{key}" if path else key
        if key in meta:
            continue
        if key == "dynamic" and isinstance(value, dict):
            for block_name, spec in value.items():
                child = arguments.get(block_name)
                if child is None:
                    report(
                        f"{here}.{block_name}",
                        f"unknown dynamic block {block_name!r}"
                        + _suggest(block_name, [k for k, v in arguments.items() if v]),
                    )
                elif isinstance(spec, dict) and "content" in spec:
                    _check_block(
                        schema,
                        child[1],
                        spec["content"],
                        f"{here}.{block_name}.content",
                        frozenset(),
                        report,
                    )
            continue
        if key not in arguments:
            report(here, f"unknown argument {key!r}" + _suggest(key, arguments))
            continue
        child = arguments[key]
        if child is None:
            continue
        kind, child_id = child
        if kind == "map" and isinstance(value, dict):
            for map_key, item in value.items():
                _check_block(schema, child_id, item, f"{here}[{map_key!r}]", frozenset(), report)
        else:
            _check_block(schema, child_id, value, here, frozenset(), report)


def _check_ignore_changes(schema: Schema, struct_id: str, body: Any, report) -> None:
    """``lifecycle.ignore_changes`` names arguments; a typo there makes
    Terraform fail at plan, and a silently ignored entry would be worse."""
    lifecycle = body.get("lifecycle") if isinstance(body, dict) else None
    entries = lifecycle.get("ignore_changes") if isinstance(lifecycle, dict) else None
    if not isinstance(entries, list):
        return  # absent, or the keyword "all"
    arguments = schema.arguments(struct_id)
    for index, entry in enumerate(entries):
        if not isinstance(entry, str):
            continue
        first = re.split(r"[.\[]", entry, maxsplit=1)[0]
        if first not in arguments:
            report(
                f"lifecycle.ignore_changes[{index}]",
                f"ignore_changes names unknown argument {first!r}" + _suggest(first, arguments),
            )


def validate_stack(stack_name: str, stack: dict, schema: Schema | None = None) -> list[Problem]:
    """Every unknown argument name of resources, data sources and providers."""
    schema = schema or load_schema()
    problems: list[Problem] = []
    sections = (("resource", RESOURCE_META, ""), ("data", DATA_META, "data."))
    for section, meta, prefix in sections:
        for tf_type, instances in (stack.get(section) or {}).items():
            root = schema.roots.get((section, tf_type))
            for name, body in (instances or {}).items():
                address = f"{prefix}{tf_type}.{name}"
                if root is None:
                    known = [t for s, t in schema.roots if s == section]
                    problems.append(
                        Problem(
                            stack_name,
                            address,
                            "",
                            f"unknown {section} type {tf_type!r}" + _suggest(tf_type, known),
                        )
                    )
                    continue

                def report(path: str, message: str, _address: str = address) -> None:
                    problems.append(Problem(stack_name, _address, path, message))

                _check_block(schema, root, body, "", meta, report)
                _check_ignore_changes(schema, root, body, report)
    for provider_name, configs in (stack.get("provider") or {}).items():
        root = schema.roots.get(("provider", provider_name))
        if root is None:
            problems.append(
                Problem(stack_name, f"provider.{provider_name}", "", "no schema for this provider")
            )
            continue
        for index, body in enumerate(configs if isinstance(configs, list) else [configs]):
            address = f"provider.{provider_name}[{index}]"

            def report(path: str, message: str, _address: str = address) -> None:
                problems.append(Problem(stack_name, _address, path, message))

            _check_block(schema, root, body, "", PROVIDER_META, report)
    return problems


def validate_outdir(outdir: Path) -> list[Problem]:
    schema = load_schema()
    problems: list[Problem] = []
    for name, stack in read_stacks(outdir).items():
        problems += validate_stack(name, stack, schema)
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    outdir = Path(args[0] if args else "cdktf.out")
    if not stack_files(outdir):
        # Nothing to check must not read as "all good".
        print(
            f"no {outdir}/stacks/*/cdk.tf.json found; synthesize first (make synth)",
            file=sys.stderr,
        )
        return 2
    problems = validate_outdir(outdir)
    for problem in problems:
        print(problem)
    stacks = len(stack_files(outdir))
    print(f"schema: {stacks} stacks checked, {len(problems)} unknown argument(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
