"""Notes + config -> ClipJob list: what to clip, from where, under which name. Pure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from clipper.core.errors import PlanError
from clipper.core.timecode import format_timestamp, name_timestamp
from clipper.notes.highlights import Highlight
from clipper.notes.parse import Note
from clipper.notes.transcript import TranscriptLine
from clipper.plan.config import Config
from clipper.policy.addresses import note_url_problem
from clipper.policy.clip_command import video_id_of

# Longest clip name: file systems allow 255 bytes, and clipper's temporary names add up to ~40 to it.
MAX_NAME_BYTES = 200
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class Cue:
    """A caption on the clip's own timeline."""

    start: float  # seconds from the clip's start
    end: float
    text: str


def without_moment(url: str) -> str:
    """``url`` without its ``t=`` (the moment it points at)."""
    return re.sub(r"([?&])t=[^&]*&?", r"\1", url).rstrip("?&")


@dataclass(frozen=True)
class ClipJob:
    """One clip to make."""

    video_id: str
    url: str  # the note's video URL (what the clip's metadata links to)
    source: str  # where the media is read from: a URL, or a local file path
    title: str  # the highlight's title
    start: float
    end: float
    output: str  # file name inside the output folder
    note: Path | str  # the note file; for `clipper cut URL`, the URL as given (a Path would fold its //)
    line: int
    video_title: str = ""
    channel: str | None = None
    quote: str = ""
    speaker: str | None = None
    format: str | None = None
    format_sort: tuple[str, ...] = ()
    video_duration: float | None = None
    upload_date: str | None = None
    tags: tuple[str, ...] = ()
    captions: tuple[Cue, ...] = ()  # filled from the note's transcript when captions are made
    public_only: bool = False  # the source is the note's own URL (untrusted): public hosts only
    # The note's transcript lines around the clip (its captions, and where its edges may snap to).
    transcript: tuple[TranscriptLine, ...] = ()
    # Once the edges were snapped to pauses in the speech: the note's own times (start/end are the clip's) and
    # what each edge did.
    note_range: tuple[float, float] | None = None
    snap_reasons: tuple[str, ...] = ()  # (start, end)

    @property
    def note_start(self) -> float:
        return self.note_range[0] if self.note_range is not None else self.start

    @property
    def note_end(self) -> float:
        return self.note_range[1] if self.note_range is not None else self.end

    @property
    def moment_url(self) -> str:
        """The note's video URL pointing at the clip's start (``t=``); a local file's as it is."""
        if self.url.startswith("file:"):
            return self.url
        base = without_moment(self.url)
        return f"{base}{'&' if '?' in base else '?'}t={int(self.start)}s"

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def source_is_local(self) -> bool:
        return not _URL_RE.match(self.source)

    @property
    def key(self) -> tuple[str, float, float]:
        return (self.video_id, self.start, self.end)


def slug(text: str, max_length: int = 60) -> str:
    """A safe file-name fragment: ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()
    return cleaned[:max_length].rstrip("-") or "clip"


def clip_name(template: str, *, video_id: str, start: float, end: float, title: str, index: int, extension: str) -> str:
    """Render the naming template into a safe file name (no folders, no hidden files)."""
    stem = template.format(
        video_id=video_id, start=name_timestamp(start), end=name_timestamp(end), title=slug(title), index=index
    )
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-") or "clip"
    return f"{stem}.{extension}"


def default_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def with_container(name: str, container: str) -> str:
    """The clip's name in the container the config asks for (``auto``: as it is)."""
    if container == "auto" or name.lower().endswith("." + container):
        return name
    return f"{Path(name).stem if '.' in name else name}.{container}"


def job_for(note: Note, highlight: Highlight, index: int, config: Config) -> ClipJob:
    """The clip job for one highlight of a note."""
    options = highlight.options
    extension = options.merge_output_format or "mp4"
    output = options.output or clip_name(
        config.naming,
        video_id=note.video_id,
        start=highlight.start,
        end=highlight.end,
        title=highlight.title,
        index=index,
        extension=extension,
    )
    output = with_container(output, config.container)
    url = note.url or options.url or default_url(note.video_id)
    trusted = note.video_id in config.sources  # the user's own config may point anywhere
    source = config.sources[note.video_id] if trusted else options.url or url
    if not trusted:
        problem = note_url_problem(source)
        if problem is not None:
            raise PlanError(problem, note.path, highlight.line)
    return ClipJob(
        video_id=note.video_id,
        url=url,
        source=source,
        public_only=not trusted,
        title=highlight.title,
        start=highlight.start,
        end=highlight.end,
        output=output,
        note=note.path,
        line=highlight.line,
        video_title=note.title,
        channel=note.channel,
        quote=highlight.quote,
        speaker=highlight.speaker,
        format=options.format,
        format_sort=options.format_sort,
        video_duration=note.duration,
        upload_date=str(note.meta["upload_date"]) if note.meta.get("upload_date") else None,
        tags=tuple(str(tag) for tag in note.meta.get("tags") or () if isinstance(tag, (str, int, float))),
    )


def plan_jobs(notes: Iterable[Note], config: Config) -> tuple[list[ClipJob], list[PlanError]]:
    """All clip jobs of the notes, duplicates (same video and range) once; name clashes are errors.

    Returns the jobs that can run and one error per refused clip; a clash refuses the later clip and
    keeps the first, so nothing is silently overwritten.
    """
    jobs: list[ClipJob] = []
    by_key: dict[tuple[str, float, float], ClipJob] = {}
    by_output: dict[str, ClipJob] = {}
    errors: list[PlanError] = []
    for note in notes:
        for index, highlight in enumerate(note.highlights, start=1):
            try:
                job = job_for(note, highlight, index, config)
            except PlanError as error:
                errors.append(error)
                continue
            if job.key in by_key:
                continue
            if len(job.output.encode()) > MAX_NAME_BYTES:
                errors.append(PlanError(f"clip name {job.output[:40]!r}... is {len(job.output.encode())} bytes long;"
                                        f" names up to {MAX_NAME_BYTES} bytes fit every file system", job.note,
                                        job.line))  # fmt: skip
                continue
            # Captions and posters are named by the stem: a.mp4 and a.mkv would share a.srt and posters/a.jpg.
            stem = Path(job.output).stem.lower()
            clash = by_output.get(stem)
            if clash is not None:
                what = ("overwrite the clip" if clash.output.lower() == job.output.lower()
                        else f"share its captions and poster with the clip {clash.output}")  # fmt: skip
                errors.append(
                    PlanError(
                        f"clip {job.output} would {what} from {clash.note}:{clash.line} "
                        f"({clash.video_id} {clash.start:g}-{clash.end:g}s); give one of them another -o name",
                        job.note,
                        job.line,
                    )
                )
                continue
            by_key[job.key] = job
            by_output[stem] = job
            jobs.append(job)
    return jobs, errors


_YOUTUBE_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}")


def job_for_source(source: str, start: float, end: float, config: Config, *, is_file: bool) -> ClipJob:
    """The job for ``clipper cut SOURCE START-END``: a local media file, a URL, or a YouTube video id."""
    if is_file:
        path = Path(source).absolute()
        video_id, url, media = slug(path.stem, 40), path.as_uri(), str(path)
    else:
        found = video_id_of(source) or (source if _YOUTUBE_ID_RE.fullmatch(source) else None)
        if found is not None:
            video_id, url = found, (source if "://" in source else default_url(found))
        elif _URL_RE.match(source):
            url, video_id = source, slug(Path(source.split("?")[0]).stem or "clip", 40)
        else:
            raise PlanError(f"{source!r} is not a file, a URL or a YouTube video id")
        media = config.sources.get(video_id, url)
    output = clip_name(config.naming, video_id=video_id, start=start, end=end, title=video_id, index=1,
                       extension=config.container if config.container != "auto" else "mp4")  # fmt: skip
    return ClipJob(video_id=video_id, url=url, source=media, title=video_id, start=start, end=end, output=output,
                   note=Path(source) if is_file else source, line=0)  # fmt: skip


def length_warning(job: ClipJob, config: Config) -> str | None:
    """A clip longer than ``warn_longer_than`` (a platform's limit): what to say, or None."""
    limit = config.warn_longer_than
    if limit is None or job.duration <= limit + 1e-6:
        return None
    preset = f" ({config.preset})" if config.preset else ""
    return (f"{job.output} ({job.note}:{job.line}): {job.duration:.1f}s long ({format_timestamp(job.start)}-"
            f"{format_timestamp(job.end)}), over the {limit:g}s limit{preset}")  # fmt: skip
