"""One run at a time writes into an output folder: a second run waits for the first, and says for whom.

Two batches of the same notes into one folder would otherwise both make every clip and rename their files
over each other's. With the lock, the second run starts when the first is done and finds its clips made.
The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows): it goes with the
process, so a run that was killed holds nothing.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

from clipper.core.errors import ClipperError

LOCK_NAME = ".clipper.lock"
_PID_OFFSET = 16  # Windows locks byte 0; the holder's pid is written after it, where readers may look


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


_NOT_A_FILE = "is not a plain file: clipper will not take it for its lock"


def _lock_file_problem(status: os.stat_result) -> str | None:
    """Why the file opened as the lock is not one clipper may write its holder's pid into, or None.

    A hard link planted at the lock's name is another name of a file elsewhere (anyone may link a file they can
    read where the system does not forbid it): writing the pid would change that file."""
    if not stat.S_ISREG(status.st_mode):
        return _NOT_A_FILE
    if status.st_nlink > 1:
        return "has other names (hard links): clipper will not write through it"
    return None


class FolderLock:
    """``with FolderLock(folder, on_wait):`` holds the folder's lock, waiting while another run has it."""

    def __init__(self, folder: Path, on_wait: Callable[[str], None]) -> None:
        self.path = folder / LOCK_NAME
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        if self.path.is_symlink():
            raise ClipperError(f"{self.path} is a symbolic link: clipper will not write through it (remove it)")
        # O_NONBLOCK: a pipe planted there must not hang the open (it is refused just below).
        flags = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_BINARY", 0))  # fmt: skip
        try:
            fd = os.open(self.path, flags, 0o644)
        except IsADirectoryError:
            raise ClipperError(f"{self.path} {_NOT_A_FILE} (remove it)") from None
        except OSError as error:
            raise ClipperError(f"{self.path.parent}: cannot write here ({error.strerror})") from None
        problem = _lock_file_problem(os.fstat(fd))
        if problem is not None:
            os.close(fd)
            raise ClipperError(f"{self.path} {problem} (remove it)")
        told, waited = False, 0
        while not _try_lock(fd):
            holder = self._holder(fd)  # the holder writes its pid just after it locks: give it a moment
            if not told and (holder or waited >= 4):
                self.on_wait(f"{self.path.parent}: another clipper run ({holder or 'a process'}) is writing to "
                             "this folder; waiting for it to finish")  # fmt: skip
                told = True
            waited += 1
            try:
                time.sleep(0.25)
            except KeyboardInterrupt:
                os.close(fd)
                raise
        os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
        os.write(fd, f"pid {os.getpid()}\n".encode().ljust(32))
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.lseek(self._fd, _PID_OFFSET, os.SEEK_SET)
            os.write(self._fd, b" " * 32)  # the next holder writes its own: no stale pid meanwhile
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
            text = os.read(fd, 32).decode(errors="replace").strip()
        except OSError:
            text = ""
        return text if text.startswith("pid ") else ""
