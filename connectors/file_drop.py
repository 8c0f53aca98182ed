"""A folder that an ERP or a marketplace back office drops order exports into (IO only).

A file is ready when its name looks like a finished export (`.csv`, `.jsonl` or `.ndjson`; not
hidden, not a `.part`/`.tmp`/`.crdownload` that a copy is still writing) and it has not changed
for `settle_seconds`: a file still being written keeps changing, so it is left for a later run.
After it is dealt with it moves to `processed/` or `failed/` beside it; a failed file gets a
`<name>.reason.txt` saying why.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from connectors.sources import ConfigError, SourceConfig

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
PROCESSED, FAILED = "processed", "failed"


class MalformedFile(ValueError):
    """The file as a whole cannot be read: it goes to `failed/` and none of it is loaded."""


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    size: int
    modified: float  # POSIX time of the last change

    @property
    def name(self) -> str:
        return self.path.name


class FileDropFolder:
    kind = "file_drop"

    def __init__(self, config: SourceConfig, settle_seconds: float):
        self.name = config.name
        self.folder = Path(config.options["path"])
        self.format = config.options.get("format")
        self.settle_seconds = settle_seconds
        if not self.folder.is_dir():
            raise ConfigError(f"{self.name}: the drop folder {self.folder} does not exist (sources.yaml `path`)")

    def ready_files(self, now: datetime) -> list[DroppedFile]:
        """Finished exports, oldest first (an export of later edits must load after an earlier one)."""
        ready = []
        for entry in os.scandir(self.folder):
            if not entry.is_file() or entry.name.startswith((".", "~")) or self.format_of(entry.name) is None:
                continue
            stat = entry.stat()
            if now.timestamp() - stat.st_mtime >= self.settle_seconds:
                ready.append(DroppedFile(Path(entry.path), stat.st_size, stat.st_mtime))
        return sorted(ready, key=lambda f: (f.modified, f.name))

    def format_of(self, name: str) -> str | None:
        suffix = Path(name).suffix.lower()
        if suffix not in FORMATS:
            return None
        return self.format or FORMATS[suffix]

    def read(self, file: DroppedFile) -> bytes:
        return file.path.read_bytes()

    def rows(self, file: DroppedFile, data: bytes) -> list[dict]:
        """The file's data rows as they are: CSV rows as {header: text} ('' where empty), JSON
        Lines as their objects. Raises MalformedFile naming the line when the file's structure is
        broken (not UTF-8, a row with the wrong number of fields, a line that is not an object)."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedFile(f"{file.name} is not UTF-8 text (byte {exc.start})") from None
        if self.format_of(file.name) == "csv":
            return _csv_rows(file.name, text)
        return _json_lines(file.name, text)

    def still_as_listed(self, file: DroppedFile) -> bool:
        """False when the file changed after it was listed (a writer came back to it)."""
        try:
            stat = file.path.stat()
        except FileNotFoundError:
            return False
        return (stat.st_size, stat.st_mtime) == (file.size, file.modified)

    def destination(self, file: DroppedFile, outcome: str, checksum: str) -> Path:
        """Where the file goes in `processed/` or `failed/`: its own name, or, when that name is
        taken, the name with the checksum's start added, so nothing there is overwritten."""
        target = self.folder / outcome / file.name
        if target.exists():
            target = target.with_name(f"{file.path.stem}.{checksum[:12]}{file.path.suffix}")
        return target

    def move(self, file: DroppedFile, target: Path, reason: str | None = None) -> Path:
        target.parent.mkdir(exist_ok=True)
        if reason is not None:
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
        shutil.move(file.path, target)
        return target

    def close(self) -> None:  # the connector interface; nothing to release
        pass


def _csv_rows(name: str, text: str) -> list[dict]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            return []
        if len(set(header)) != len(header):
            raise MalformedFile(f"{name}: the header names a column twice: {header}")
        rows = []
        for row in reader:
            if not row:  # a blank line
                continue
            if len(row) != len(header):
                raise MalformedFile(f"{name}, line {reader.line_num}: {len(row)} fields where the header has "
                                    f"{len(header)}")
            rows.append(dict(zip(header, row)))
        return rows
    except csv.Error as exc:
        raise MalformedFile(f"{name}, line {reader.line_num}: {exc}") from None


def _json_lines(name: str, text: str) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise MalformedFile(f"{name}, line {number}: not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise MalformedFile(f"{name}, line {number}: a JSON {type(value).__name__}, not an object")
        rows.append(value)
    return rows
