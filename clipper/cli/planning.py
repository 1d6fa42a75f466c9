"""Notes to clip jobs for the commands: read the notes given, say which are skipped and why, plan their jobs (with
their captions when a run needs them) and warn of clips longer than the config wants."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from clipper.cli.console import show_warning
from clipper.core.errors import ClipperError, NoteError
from clipper.notes.parse import Note, find_notes, parse_note
from clipper.plan.config import Config
from clipper.plan.jobs import ClipJob, length_warning, plan_jobs


def load_notes(paths: Sequence[Path], named: bool = True) -> tuple[list[Note], list[ClipperError]]:
    """The clipper notes in ``paths`` (files or folders), and every problem found in them; ``named`` off: files
    found in a watched folder, not named by the user (other markdown there is passed over quietly)."""
    notes: list[Note] = []
    problems: list[ClipperError] = []
    given = set(paths) if named else set()
    for path in find_notes(list(paths)):
        if not path.exists():
            problems.append(NoteError("no such file or folder", path))
            continue
        try:
            note = parse_note(path)
        except NoteError as error:
            problems.append(error)
            continue
        if note is None:
            # Named on the command line, or with front matter (meant as a note): say why it is skipped. Other
            # markdown in a folder of notes (a README) is passed over quietly.
            if path in given or _has_front_matter(path):
                show_warning(f"{path}: not a clipper note (no front matter with a video_id); skipped")
            continue
        if not note.highlights and not note.problems:
            show_warning(f"{path}: has no highlights (no ## Highlights section with clip commands)")
        notes.append(note)
        problems.extend(note.problems)
    return notes, problems


def _has_front_matter(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(8).lstrip(b"\xef\xbb\xbf").startswith(b"---")
    except OSError:
        return False


def plan_notes(
    paths: Sequence[Path], config: Config, captions: bool = False
) -> tuple[list[ClipJob], list[ClipperError]]:
    """The clip jobs of the notes in ``paths``, and every problem found; with ``captions``, their cues too
    (only then are the notes' transcripts parsed)."""
    notes, problems = load_notes(paths)
    jobs, clashes = plan_loaded(notes, config, captions)
    return jobs, [*problems, *clashes]


def plan_loaded(
    notes: Sequence[Note], config: Config, captions: bool = False
) -> tuple[list[ClipJob], list[ClipperError]]:
    """The clip jobs of notes already read, and the clashes between them (see ``plan_notes``)."""
    jobs, clashes = plan_jobs(notes, config)
    if captions and (config.captions != "off" or config.snap == "speech"):  # snapping prefers the lines' starts
        from clipper.share.captions import with_captions

        jobs = with_captions(jobs, list(notes), margin=snap_margin(config), cues=config.captions != "off")
    return jobs, list(clashes)


def snap_margin(config: Config) -> float:
    """How far around a clip the transcript's lines are read: the snap window when edges snap to speech."""
    return config.snap_window if config.snap == "speech" else 0.0


def warn_lengths(jobs: Sequence[ClipJob], config: Config) -> None:
    """A warning for each clip longer than the config's warn_longer_than."""
    for job in jobs:
        warning = length_warning(job, config)
        if warning is not None:
            show_warning(warning)
