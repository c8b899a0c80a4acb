"""The committed diagrams in docs/diagrams: whether they show a fresh model
(``--check``), and writing new ones all or nothing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools.diagrams import layout
from tools.diagrams.model import Model
from tools.diagrams.render import FORMATS, embedded_digest

ROOT = Path(__file__).resolve().parents[2]

STALE = "run `make diagram` and commit docs/diagrams/"


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _difference(committed: str, fresh: Model) -> str:
    """What changed between a committed model and a fresh one, in a few words."""
    try:
        old_model = json.loads(committed)
    except ValueError:
        return "not JSON"
    new_model = fresh.to_json()
    parts = []
    for section in ("groups", "nodes", "edges"):
        old = {json.dumps(item, sort_keys=True) for item in old_model.get(section, [])}
        new = {json.dumps(item, sort_keys=True) for item in new_model[section]}
        if old != new:
            parts.append(f"{section}: {len(new - old)} new or changed, {len(old - new)} gone")
    return ", ".join(parts) or "formatting only"


def stale(models: Iterable[Model], to: Path) -> list[str]:
    """What in ``to`` does not show ``models``: one phrase per environment."""
    found = []
    for model in models:
        path = to / f"{model.environment}.json"
        if not path.is_file():
            found.append(f"{model.environment}.json is missing")
            continue
        committed = path.read_bytes()
        if committed != model.text().encode():
            difference = _difference(committed.decode(errors="replace"), model)
            found.append(f"{model.environment}.json differs ({difference})")
        digest = hashlib.sha256(committed).hexdigest()
        pictures = [
            f"{model.environment}-{view.name}.{fmt}" for view in layout.VIEWS for fmt in FORMATS
        ]
        missing = [name for name in pictures if not (to / name).is_file()]
        other = [
            name
            for name in pictures
            if name not in missing and embedded_digest((to / name).read_bytes()) != digest
        ]
        if missing:
            found.append(f"{', '.join(missing)} missing")
        if other:
            found.append(f"{', '.join(other)} drawn from another model")
    return found


def write_atomically(files: Mapping[Path, bytes]) -> None:
    """Every file written beside its target, then each moved into place in
    order; nothing is replaced unless every file could be written."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, content in files.items():
            handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(name, 0o644)
            staged.append((Path(name), target))
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
