"""Notes watched for changes (``clipper watch``), by polling: portable, and it sees changes on network drives too.

Each look stats the notes (``*.md``) under the folders: a note whose time, size or file id changed has changed (an
editor that saves through a temporary file and a rename gives the note a new file id). A change is acted on
once the note has stayed still for ``settle`` seconds (an editor may save in steps); hidden files and folders
(``.note.md.swp``, ``.#note.md``, ``.obsidian/``, ``.trash/``) and backups (``note.md~``) are passed over. The
content last acted on is remembered per note (its SHA-256): a change that leaves the content as it was, like
clipper's own write-back of the clip blocks, starts nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

Stamp = tuple[int, int, int]  # modification time (ns), size, file id (0 where the file system has none)


def is_note_name(name: str) -> bool:
    """Whether a file of this name is watched: markdown, not hidden, not an editor's temporary or backup file."""
    return name.lower().endswith(".md") and not name.startswith((".", "~", "#"))


def _stamp(path: Path) -> Stamp | None:
    try:
        status = path.stat()
    except OSError:  # gone between the listing and the look
        return None
    return (status.st_mtime_ns, status.st_size, status.st_ino)


def _key(folder: str | Path) -> str:
    return os.path.normcase(os.path.abspath(folder))


def scan(paths: Sequence[Path], skip: Iterable[Path] = ()) -> dict[Path, Stamp]:
    """The notes under ``paths`` (files or folders, searched through) and their stamps; folders in ``skip`` (the
    output folder, whose index.md clipper writes) and hidden folders are passed over."""
    skipped = {_key(folder) for folder in skip}
    found: dict[Path, Stamp] = {}
    for given in paths:
        if not given.is_dir():
            stamp = _stamp(given)
            if stamp is not None:
                found[given] = stamp
            continue
        for folder, folders, files in os.walk(given):
            folders[:] = sorted(name for name in folders if not name.startswith(".") and
                                _key(os.path.join(folder, name)) not in skipped)  # fmt: skip
            for name in sorted(files):
                if is_note_name(name):
                    path = Path(folder, name)
                    stamp = _stamp(path)
                    if stamp is not None and path.is_file():
                        found[path] = stamp
    return found


def file_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class NoteWatch:
    """Which notes changed and have settled (pure: the looks and the clock are given to it)."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self.stamps: dict[Path, Stamp] = {}
        self.changed_at: dict[Path, float] = {}
        self.acted_on: dict[Path, str] = {}  # note -> the SHA-256 of the content last acted on (or written)

    def update(self, found: Mapping[Path, Stamp], now: float) -> list[Path]:
        """Take a look's stamps (at time ``now``); return the notes that changed and have been still since
        ``settle`` seconds, each once per change."""
        for path in [path for path in self.stamps if path not in found]:
            del self.stamps[path]
            self.changed_at.pop(path, None)
        for path, stamp in found.items():
            if self.stamps.get(path) != stamp:
                self.stamps[path] = stamp
                self.changed_at[path] = now
        ready = sorted(path for path, since in self.changed_at.items() if now - since >= self.settle)
        for path in ready:
            del self.changed_at[path]
        return ready

    def is_new(self, path: Path, digest: str) -> bool:
        """Whether the note's content is other than the content last acted on."""
        return self.acted_on.get(path) != digest

    def remember(self, path: Path, digest: str) -> None:
        """The note's content has been acted on (its clips made, or the blocks written into it)."""
        self.acted_on[path] = digest
