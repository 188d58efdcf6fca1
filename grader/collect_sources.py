"""``collect``'s sources: every file of a folder (nbgrader's ``submitted/`` layout or any other) or of an LMS zip
export, with its path inside the source, its size and time, read only when collected."""

from __future__ import annotations

import contextlib
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from grader.layout import SUBMITTED


class CollectError(Exception):
    """The source, the roster or the pattern cannot be used at all (the command exits 2)."""


@dataclass(frozen=True)
class Entry:
    """One file of the source: its path inside it ('/'-separated), size, time and a way to read it."""

    path: str
    size: int
    modified: datetime
    read: Callable[[], bytes]
    is_link: bool = False


@contextlib.contextmanager
def open_source(source: Path) -> Iterator[list[Entry]]:
    """Every file of a folder (of its ``submitted/`` folder when it has one) or of a zip archive."""
    if source.is_dir():
        submitted = source / SUBMITTED
        yield _folder_entries(submitted if submitted.is_dir() else source)
    elif source.is_file():
        with _open_zip(source) as archive:
            yield _zip_entries(source, archive)
    else:
        raise CollectError(f"{source}: no such folder or zip file")


def _folder_entries(folder: Path) -> list[Entry]:
    entries = []
    for directory, subfolders, files in os.walk(folder):
        subfolders.sort()
        for name in sorted(files):
            path = Path(directory) / name
            link = path.is_symlink()
            stat = path.lstat()
            entries.append(
                Entry(
                    path=path.relative_to(folder).as_posix(),
                    size=stat.st_size,
                    modified=datetime.fromtimestamp(stat.st_mtime, timezone.utc),
                    read=path.read_bytes,
                    is_link=link,
                )
            )
    return entries


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The archive, checked whole: a corrupt or encrypted one is a ``CollectError`` before anything is written."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CollectError(f"{path}: not a readable zip archive ({error})") from error
    try:
        broken = archive.testzip()  # decompresses every entry once and checks its CRC
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError, ValueError) as error:
        archive.close()
        raise CollectError(f"{path}: not a readable zip archive ({error})") from error
    if broken is not None:
        archive.close()
        raise CollectError(f"{path}: not a readable zip archive (entry {broken!r} is corrupt)")
    return archive


def _zip_entries(path: Path, archive: zipfile.ZipFile) -> list[Entry]:
    files = [info for info in archive.infolist() if not info.is_dir()]
    if not files:
        raise CollectError(f"{path}: the zip archive is empty")
    return [
        Entry(
            path=info.filename.replace("\\", "/").lstrip("/"),
            size=info.file_size,
            # zip tools store the local time of the machine that packed it, without a zone
            modified=datetime(*info.date_time).astimezone(timezone.utc),
            read=lambda info=info: archive.read(info),
        )
        for info in files
    ]
