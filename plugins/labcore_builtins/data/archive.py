"""The files of a dataset, in a folder or in the ``.tar.gz`` archive it is distributed as.

An archive is read member by member with :mod:`tarfile`; nothing is extracted to disk.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

from labcore.data import DataError


class FolderFiles:
    """The files of the folder ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        return {name: (self.path / name).read_bytes() for name in names}

    def label(self, name: str) -> str:
        """What an error message calls the file ``name``."""
        return str(self.path / name)


class TarFiles:
    """The files of the folder ``folder`` inside the tar archive ``path`` (any compression)."""

    def __init__(self, path: Path, folder: str) -> None:
        self.path = path
        self.folder = folder
        try:
            with tarfile.open(path, "r:*") as archive:
                members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path} is not a readable tar archive ({exc}); replace it with the original"
            ) from exc
        prefix = f"{folder}/"
        self.members = {
            name[len(prefix):]: member
            for member in members
            if member.isfile()
            and (name := member.name.removeprefix("./")).startswith(prefix)
        }

    def has(self, name: str) -> bool:
        return name in self.members

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        """The content of each of ``names``, read in one pass over the archive."""
        contents = {}
        try:
            with tarfile.open(self.path, "r:*") as archive:
                for name in sorted(names, key=lambda n: self.members[n].offset):
                    stream = archive.extractfile(self.members[name])
                    assert stream is not None  # members holds regular files only
                    contents[name] = stream.read()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{self.path} cannot be read ({exc}); the archive is truncated or corrupt, "
                "replace it with the original"
            ) from exc
        return contents

    def label(self, name: str) -> str:
        return f"{self.path}:{self.folder}/{name}"
