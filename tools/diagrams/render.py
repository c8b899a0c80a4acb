"""The pictures: DOT drawn as SVG and PNG by ``graphviz-pure`` (docs/decisions.md
D38), each carrying the SHA-256 of the model it shows."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from tools.diagrams import DiagramError, layout
from tools.diagrams.model import MODEL_DIGEST, Model

RENDERER = "graphviz-pure"
FORMATS = ("svg", "png")


def renderer() -> str:
    """The graphviz-pure binary installed beside this Python (make setup), else on PATH."""
    beside = Path(sys.executable).parent / RENDERER
    found = str(beside) if beside.exists() else shutil.which(RENDERER)
    if found is None:
        raise DiagramError(
            f"renderer: {RENDERER} is not installed beside {sys.executable} nor on PATH; "
            "run make setup (it is in Pipfile.lock)"
        )
    return found


def render(dot: str, fmt: str, binary: str) -> bytes:
    """``dot`` drawn as ``fmt`` (svg or png) by graphviz-pure."""
    result = subprocess.run(
        [binary, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False, timeout=300
    )
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise DiagramError(
            f"{RENDERER} -T{fmt}: failed ({message[-1] if message else result.returncode})"
        )
    return result.stdout


def with_png_text(png: bytes, keyword: str, text: str) -> bytes:
    """The PNG with a tEXt chunk ``keyword: text`` right after its header."""
    signature, header_end = 8, 8 + 4 + 4 + 13 + 4  # signature, IHDR length/type/data/crc
    payload = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + payload) & 0xFFFFFFFF)
    if png[:signature] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise DiagramError(f"{RENDERER} -Tpng: output is not a PNG")
    return png[:header_end] + chunk + png[header_end:]


def embedded_digest(picture: bytes) -> str | None:
    """The model digest an SVG or PNG written by this tool carries."""
    found = re.search(rb"%s[ \0]([0-9a-f]{64})" % MODEL_DIGEST.encode(), picture)
    return found.group(1).decode() if found else None


def outputs(model: Model, binary: str) -> dict[str, bytes]:
    """file name suffix -> content: every view's pictures first, the model last."""
    files = {}
    for view in layout.VIEWS:
        dot = layout.to_dot(model, view)
        files[f"-{view.name}.svg"] = render(dot, "svg", binary)
        png = render(dot, "png", binary)
        files[f"-{view.name}.png"] = with_png_text(png, MODEL_DIGEST, model.digest())
    files[".json"] = model.text().encode()
    return files
