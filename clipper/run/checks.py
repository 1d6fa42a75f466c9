"""Checks of what a run makes: a clip's range against its video's length, a smart cut's pieces before they are
joined, and a finished clip (its streams, length and frames, as ffprobe reads them) before it takes its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from clipper.core.errors import ClipperError, CutError
from clipper.core.timecode import format_timestamp
from clipper.media import probe
from clipper.media.bitstream import mpegts
from clipper.media.probe import MediaInfo
from clipper.plan.jobs import ClipJob
from clipper.run.steps import Piece


def check_piece(piece: Piece) -> None:
    """A piece must start at its first frame and hold its frames: a seek that landed elsewhere, or a filter
    that let other packets through, would shift or break the clip."""
    kind = "copied piece" if piece.kind == "copy" else "re-encoded piece"
    if piece.output.endswith(".ts"):  # read here: no ffprobe to start
        try:
            count, pts = mpegts.summary(Path(piece.output).read_bytes())
        except (OSError, ValueError, IndexError) as error:  # TsError is a ValueError
            raise CutError(f"{kind} cannot be read: {error}") from None
        first = pts / 90000 if pts is not None else None
    else:
        times = probe.packet_times(piece.output)
        count, first = len(times), times[0] if times else None
    if first is None or abs(first - piece.starts_at) > 0.001:
        raise CutError(f"{kind} starts at {first}, not at {piece.starts_at}")
    if count != piece.frames:
        raise CutError(f"{kind} holds {count} frames, not {piece.frames}")


def check_range(job: ClipJob, video_seconds: float) -> None:
    """Refuse a clip that starts or ends past the end of its video (half a frame of slack at the end)."""
    if video_seconds <= 0:
        return
    lasts = format_timestamp(video_seconds)
    if job.start >= video_seconds:
        raise CutError(f"starts past the end ({format_timestamp(job.start)}): the video lasts {lasts}")
    if job.end > video_seconds + 0.02:
        raise CutError(f"ends past the end ({format_timestamp(job.end)}): the video lasts {lasts}; "
                       f"the range {format_timestamp(job.start)}-{lasts} would fit")  # fmt: skip


def verified(path: Path, job: ClipJob, mode: str, slack: float = 0.0, seams: Sequence[float] = (),
             span: tuple[float, float] | None = None,
             source: MediaInfo | None = None) -> tuple[str | None, MediaInfo | None]:  # fmt: skip
    """(None, what ffprobe says) when ``path`` is a finished clip of ``job`` cut in ``mode``; else (why not, ...).
    ``seams``: where a smart cut's pieces meet (seconds into the clip), decoded in the same ffprobe run;
    ``span``: how long its picture may last (``steps.frame_span``); ``source``: what it is cut from (the clip
    must have each of its streams)."""
    if not path.is_file():
        return "missing", None
    try:
        info, problem = probe.probe_clip(str(path), seams) if seams else (probe.probe(str(path)), None)
    except ClipperError as error:
        return error.message, None
    missing = probe.missing_streams(source, info) if source is not None else None
    return missing or probe.verify_clip(info, job.duration, mode, slack, span) or problem, info
