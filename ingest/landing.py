"""Pulling input files into the landing area: copy what changed, by content checksum.

The landing area holds the exact bytes the pipeline read, so a run can always be traced
back to its inputs. A file whose checksum is unchanged is not copied again; a file that
has gone from the source is removed from landing. Only the base name of a source file is
used, so no name can place a file outside the landing folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ingest.files import sha256_file


class PullError(RuntimeError):
    pass


@dataclass(frozen=True)
class PulledFile:
    name: str
    sha256: str
    size_bytes: int
    changed: bool


def is_input_file(path: Path, suffixes: tuple[str, ...]) -> bool:
    """A data file of an accepted type; not a hidden file or an Office lock file (``~$x.xlsx``)."""
    return path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith((".", "~$"))


def pull_folder(source: Path, suffixes: tuple[str, ...], landing: Path) -> list[PulledFile]:
    """Mirror the files of `source` with one of `suffixes` into `landing`."""
    source, landing = Path(source), Path(landing)
    if not source.is_dir():
        raise PullError(f"source folder {source} does not exist or is not a folder")
    landing.mkdir(parents=True, exist_ok=True)
    pulled: list[PulledFile] = []
    wanted: set[str] = set()
    for path in sorted(p for p in source.iterdir() if is_input_file(p, suffixes)):
        name = Path(path.name).name
        wanted.add(name)
        checksum = sha256_file(path)
        target = landing / name
        changed = not target.exists() or sha256_file(target) != checksum
        if changed:
            # Write aside then rename, so a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=landing, prefix=".pull-")
            os.close(handle)
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)
        pulled.append(PulledFile(name, checksum, path.stat().st_size, changed))
    for stale in landing.iterdir():
        if stale.is_file() and stale.name not in wanted:
            stale.unlink()
    if not pulled:
        raise PullError(f"no {' or '.join(suffixes)} files in {source}")
    return pulled
