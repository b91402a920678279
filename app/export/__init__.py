"""Postmortem exports: pure functions of the data, written to a stream in one pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from app.export.json import write_json
from app.export.loader import ExportData, open_export
from app.export.markdown import write_markdown
from app.export.people import People

FORMATS: dict[str, Callable[[ExportData, TextIO, People], None]] = {
    "markdown": write_markdown,
    "json": write_json,
}
EXTENSIONS = {"markdown": "md", "json": "json"}

__all__ = ["EXTENSIONS", "FORMATS", "ExportData", "People", "open_export"]
