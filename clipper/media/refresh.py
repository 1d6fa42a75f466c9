"""Intra refresh (H.264): keyframes that are no whole picture.

An encoder with intra refresh (x264's ``intra-refresh``, common in streaming and video calls) sends one IDR, then
never a whole intra picture again: a column of intra blocks sweeps across P pictures, and the picture where a
sweep starts carries a recovery point message (the picture is whole ``recovery_frame_cnt`` reference frames
later). Demuxers mark those P pictures as keyframes. A decode that starts on one shows nothing (ffmpeg drops the
pictures until they are whole) or a smear (other players) until the sweep ends; a copy that starts on one cannot
be made whole at all. So:

- a decode must start on the keyframe *before* the one it would start on (one sweep earlier: the picture is
  whole by the next keyframe, as x264 spaces them, and ffmpeg's decoder then drops only frames before the
  clip);
- a copy (``--mode copy``) cannot start there: the clip is re-encoded instead;
- a smart cut cannot copy from one (the open-GOP splice refuses a piece that does not start on an intra
  picture) and is re-encoded, from that earlier keyframe.

A source is read once to tell whether it uses intra refresh at all (``uses_refresh``: its second keyframe, the
first a sweep would start on); only then is each clip's landing read. ``landing_argv`` copies the one keyframe a
seek lands on; ``is_refresh_point`` reads its first slice; ``seek_before`` finds the seek that lands on the keyframe
before one. The ffmpeg runs go through the caller's ``Run`` (the runner's: logged, ended with clipper).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clipper.core.errors import ClipperError
from clipper.media.bitstream import mpegts
from clipper.media.bitstream.nal import NalError, Reader, split_nals
from clipper.media.cut_args import FFMPEG, seconds_arg
from clipper.media.probe import file_arg, optional_output

SLICE, IDR = 1, 5
_INTRA = (2, 4)  # slice_type % 5: I, SI


@dataclass(frozen=True)
class Refresh:
    """Where a clip's cut would start on an intra refresh point: ``decode_seek``, the timestamp a re-encode's
    decode seeks to instead (it lands on the keyframe before); ``copy_point``, the refresh point a copy would start
    on (the clip is re-encoded instead). None: a whole picture there (or not H.264)."""

    decode_seek: float | None = None
    copy_point: float | None = None


WHOLE = Refresh()  # both whole pictures

Run = Callable[[Sequence[str]], object]  # runs an ffmpeg argv; raises ClipperError when it fails
KEYFRAME_SPAN = 60.0  # seconds read for the second keyframe: an encoder's refresh period is far shorter


def landing_argv(source: str, at: float, output: str) -> list[str]:
    """ffmpeg argv writing (MPEG-TS, to ``output``) the keyframe a seek to timestamp ``at`` lands on, as
    ``cut_argv``'s seek lands (the same options: the first packet a stream copy from there takes), with the
    source's timestamps."""
    return [*FFMPEG, "-copyts", "-seek_timestamp", "1", "-ss", seconds_arg(at), "-i", file_arg(source),
            "-map", "0:v:0", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-frames:v", "1", "-muxdelay", "0",
            "-muxpreload", "0", "-f", "mpegts", output]  # fmt: skip


def keyframes_argv(source: str) -> list[str]:
    """ffprobe argv listing the video packets' timestamps and flags over the source's first ``KEYFRAME_SPAN``
    seconds (reads the container's index and packet headers: nothing is decoded)."""
    return ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", f"%+{KEYFRAME_SPAN:g}",
            "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", file_arg(source)]  # fmt: skip


def telling_keyframe(listing: str) -> tuple[float, bool] | None:
    """``keyframes_argv``'s output -> (the timestamp of the keyframe that tells whether the stream uses intra
    refresh, whether that is sure). The second keyframe (in presentation order; the first of a whole file is its
    IDR either way), sure; a file with one keyframe (a section fetched from a seek starts on one), its first, sure
    only when it is a refresh point. None: no keyframe."""
    keys = []
    for line in listing.splitlines():
        time, _, flags = line.strip().partition(",")
        try:
            if "K" in flags:
                keys.append(float(time))
        except ValueError:
            continue
    keys.sort()
    return (keys[1], True) if len(keys) > 1 else (keys[0], False) if keys else None


def is_refresh_point(unit: bytes) -> bool:
    """Whether an H.264 access unit (Annex B) is a keyframe that is no whole picture: its first slice is neither
    an IDR nor intra (an open GOP's keyframe is an I picture: whole)."""
    for nal in split_nals(unit):
        kind = nal[0] & 0x1F
        if kind == IDR:
            return False
        if kind == SLICE:
            try:
                reader = Reader(nal[1:8])
                reader.ue()  # first_mb_in_slice
                return reader.ue() % 5 not in _INTRA
            except NalError:
                return False
    return False


def landed(ts: bytes) -> tuple[float, bool] | None:
    """``landing_argv``'s output -> (the keyframe's timestamp in seconds, whether it is an intra refresh point);
    None when it holds no H.264 picture."""
    try:
        codec, units = mpegts.read(ts, limit=1)
    except mpegts.TsError:
        return None
    if codec != "h264" or not units or units[0].pts is None:
        return None
    return units[0].pts / 90000, is_refresh_point(units[0].data)


def landing(source: str, at: float, run: Run) -> tuple[float, bool] | None:
    """Run ``landing_argv`` with ``run``: where a seek to ``at`` lands and whether that is an intra refresh point
    (None: it cannot be read; the cut then goes as before)."""
    with tempfile.TemporaryDirectory(prefix="clipper-") as scratch:
        output = Path(scratch) / "keyframe.ts"
        try:
            run(landing_argv(source, at, str(output)))
            return landed(output.read_bytes())
        except (ClipperError, OSError):
            return None


def uses_refresh(source: str, run: Run) -> bool | None:
    """Whether an H.264 source uses intra refresh: a keyframe after its IDR (see ``telling_keyframe``) is no whole
    picture. One ffprobe run and one small copy. None: it cannot be told from this file (no keyframe but a whole
    one, or none can be read)."""
    listing = optional_output(keyframes_argv(source))
    telling = telling_keyframe(listing) if listing is not None else None
    found = landing(source, telling[0], run) if telling is not None else None
    if found is None or telling is None:
        return None
    return True if found[1] else False if telling[1] else None


def seek_before(source: str, point: float, run: Run) -> float | None:
    """A seek (timestamp) that lands on a keyframe before the refresh point at ``point``, found by trying (a seek
    lands by decode times, shifted by the container's own rules: no fixed offset does it); None if none does."""
    for step in (0.25, 1.0, 4.0, 16.0):
        at = point - step
        found = landing(source, at, run) if at > 0 else None
        if found is not None and found[0] < point - 0.0005:
            return at
        if at <= 0:
            return None
    return None
