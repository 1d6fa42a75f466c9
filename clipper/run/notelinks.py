"""The clips linked into their notes after a run (``batch --link``): each note read again and checked against
what planning read, its new text worked out (``notes.blocks``, pure) and written atomically: a temporary file
in the note's folder with the note's mode, synced, then renamed over the note. A note that changed since it was
read is left as it is (the next run links it)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clipper.notes.blocks import ClipLink, block_id, clip_target, embed_line, link_text, note_diff
from clipper.notes.parse import Note
from clipper.plan.config import Config

Key = tuple[str, float, float]  # a clip's video and the note's range (ClipJob.key)


class NoteChanged(Exception):
    """The note is no longer what planning read."""


@dataclass
class LinkReport:
    """What linking did: notes written (path -> the SHA-256 of the bytes written), what was left alone and why,
    the notes that could not be linked (problems), and for a dry run the changes as a diff."""

    written: dict[Path, str] = field(default_factory=dict)
    linked: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def note_links(note: Note, clips: Mapping[Key, str], output_dir: Path, style: str) -> list[ClipLink]:
    """A link for each highlight of the note whose clip is in ``clips`` (key -> the clip's file name)."""
    folder = note.path.absolute().parent
    links = []
    for highlight in note.highlights:
        name = clips.get((note.video_id, highlight.start, highlight.end))
        if name is not None:
            target = clip_target(output_dir.absolute() / name, folder)
            links.append(ClipLink(highlight.line, block_id(name), embed_line(style, highlight.title, target)))
    return links


def link_notes(notes: Sequence[Note], planned: Mapping[Key, str], made: Collection[Key], config: Config, *,
               write: bool = True) -> LinkReport:  # fmt: skip
    """Link the clips ``made`` (keys of ``planned``: key -> clip name) into their notes; with ``write`` off, only
    say (as a diff) what would change."""
    report = LinkReport()
    clips = {key: name for key, name in planned.items() if key in made}
    keep = {block_id(name) for name in planned.values()}  # a clip that failed this time keeps its block quietly
    for note in notes:
        links = note_links(note, clips, config.output_dir, config.link_style)
        try:
            _link_note(note, links, keep, report, write)
        except NoteChanged:
            report.problems.append(f"{note.path}: changed since it was read; not linked (run again)")
        except OSError as error:
            report.problems.append(f"{note.path}: not linked: {error.strerror or error}")
    return report


def _link_note(note: Note, links: Sequence[ClipLink], keep: Collection[str], report: LinkReport,
               write: bool) -> None:  # fmt: skip
    path = note.path
    if path.is_symlink():
        report.problems.append(f"{path}: a symbolic link; not linked (clipper replaces a note whole)")
        return
    data = path.read_bytes()
    status = path.stat()
    if digest(data) != note.digest:
        raise NoteChanged
    if status.st_nlink > 1:
        report.problems.append(f"{path}: has {status.st_nlink} hard links; not linked (clipper replaces a note whole)")
        return
    text = data.decode("utf-8")
    linked = link_text(text, note.sections.get("highlights"), links, keep)
    report.notices += [f"{path}:{line}: {message}" for line, message in linked.notices]
    if linked.text == text:
        return
    if not write:
        report.diff += note_diff(text, linked.text, str(path))
        return
    report.written[path] = replace_note(path, linked.text.encode("utf-8"), note.digest, stat.S_IMODE(status.st_mode))
    report.linked.append(f"{path}: {len(linked.changes)} clip block(s) written")


def replace_note(path: Path, data: bytes, expected: str, mode: int) -> str:
    """Write ``data`` over the note atomically, keeping its mode; raise NoteChanged (writing nothing) when the
    note's bytes are no longer those whose SHA-256 is ``expected``. Returns the SHA-256 of ``data``."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:60]}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        if digest(path.read_bytes()) != expected:  # the last look, just before the rename
            raise NoteChanged
        os.replace(temp, path)
    except BaseException:  # Ctrl-C included: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(path.parent)
    return digest(data)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; Windows has no folder handles to sync)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
