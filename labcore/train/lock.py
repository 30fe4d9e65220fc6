"""One writer per run folder: the ``.lock`` file, held with ``fcntl.flock`` while a process writes.

Two processes writing one run folder (a second ``labcore resume`` of a run still training) prune
each other's checkpoints and interleave their logs. The process that trains, resumes or evaluates
a run folder therefore holds an exclusive lock on ``<run folder>/.lock`` and writes its pid and
command there; another process that finds the lock taken refuses, naming the holder. The kernel
drops a ``flock`` lock when its process ends, however it ends, so the lock of a dead process is
simply taken over (the file's old pid is overwritten). Under several processes only rank 0 holds
the lock; every rank learns whether it could.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import sys
from pathlib import Path
from typing import IO

from labcore import distributed

LOCK_FILE = ".lock"


class RunFolderUnavailable(Exception):
    """Another live process is writing the run folder, or the folder cannot be written."""


class RunLock:
    """The exclusive lock of one run folder (see the module's documentation)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._file: IO[str] | None = None

    def holder(self) -> str:
        """What the lock file says about its last holder: ``pid 1234 (labcore resume ...)``."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return "another process"
        pid, _, command = text.partition(" ")
        return f"process {pid} ({command})" if pid.isdigit() else "another process"

    def acquire(self) -> None:
        """Take the lock, or raise :class:`RunFolderUnavailable` naming the process holding it."""
        try:
            handle = open(self.path, "a+")  # noqa: SIM115 (held open until release)
        except OSError as exc:
            raise RunFolderUnavailable(
                f"{self.folder}: cannot write in the run folder ({exc.strerror or exc})"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise RunFolderUnavailable(
                f"{self.folder} is in use by {self.holder()}; wait until it ends (or stop it), "
                "then try again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {' '.join(['labcore', *sys.argv[1:]])}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        self._file.truncate(0)
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def remove_partial_checkpoints(folder: Path) -> list[Path]:
    """Delete the temporary files (``.step-N.pt.tmp-PID``) of checkpoints whose writer died.

    Only the lock's holder may call this: no other process can be writing them.
    """
    removed = []
    for path in (folder / "checkpoints").glob(".*.tmp-*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def hold(folder: Path) -> RunLock | None:
    """Lock ``folder`` for the rest of this process (rank 0's lock under several processes).

    Raises :class:`RunFolderUnavailable` on every rank when another process holds it.
    """
    lock = RunLock(folder)
    problem = None
    if distributed.rank() == 0:
        try:
            lock.acquire()
        except RunFolderUnavailable as exc:
            problem = str(exc)
    problem = distributed.share(problem)
    if problem is not None:
        raise RunFolderUnavailable(problem)
    if distributed.rank() != 0:
        return None
    atexit.register(lock.release)
    return lock


def check_free(folder: Path) -> None:
    """Raise :class:`RunFolderUnavailable` when another process holds ``folder``'s lock (taken and
    given back at once: for the launcher of several processes, whose rank 0 will hold it)."""
    lock = RunLock(folder)
    lock.acquire()
    lock.release()
