"""Smart cut planning (pure): which frames to re-encode and which packets to copy.

Given the video packets around a clip (in decode order, as ffprobe lists them), a smart cut re-encodes only
the frames from the clip start up to the first keyframe at or after it (the *head*), copies the packets from
that keyframe on for as long as they form a clean decode-order prefix (the *middle*: every frame it shows lies
in one unbroken run of display times, and every frame it references comes before it in decode order), and
re-encodes what is left up to the clip end (the *tail*, usually nothing: B-frame streams close a clean run
every few frames). The result is frame-exact at both ends and bit-identical in the middle.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from clipper.core.errors import CutError


@dataclass(frozen=True)
class Packet:
    pts: int
    dts: int | None
    key: bool


@dataclass(frozen=True)
class Piece:
    """A run of frames: [start, end) in stream time-base units, ``frames`` of them."""

    kind: str  # "encode" or "copy"
    start: int
    end: int
    frames: int
    packets: int = 0  # copy: packets to take in decode order from the keyframe (leading ones included)
    drop: tuple[int, ...] = ()  # copy: indexes (from 0 at the keyframe) of leading packets to drop
    skip: int = 0  # copy: packets listed before the keyframe (a seek to the listing's start lands on the first)


@dataclass(frozen=True)
class SmartCut:
    pieces: tuple[Piece, ...]
    decode_delay: int  # pts - dts of the keyframe copied (B-frame reorder delay), 0 without B-frames

    @property
    def encoded_frames(self) -> int:
        return sum(piece.frames for piece in self.pieces if piece.kind == "encode")

    @property
    def copied_frames(self) -> int:
        return sum(piece.frames for piece in self.pieces if piece.kind == "copy")


def smart_cut(packets: list[Packet], start: int, end: int) -> SmartCut:
    """Split the clip [start, end) (time-base units) into encode and copy pieces.

    ``packets`` must hold every video packet from the keyframe at or before ``start`` to past ``end`` in
    decode order. Frames are those whose pts lies in [start, end).
    """
    all_pts = sorted(packet.pts for packet in packets)
    first_index = bisect.bisect_left(all_pts, start)
    end_index = bisect.bisect_left(all_pts, end)
    if end_index <= first_index:
        raise CutError("no video frame in the clip's range (shorter than a frame, or past the end of the video)")
    first_pts = all_pts[first_index]

    keyframe = next((i for i, p in enumerate(packets) if p.key and start <= p.pts < end), None)
    if keyframe is None:
        return SmartCut((Piece("encode", first_pts, end, end_index - first_index),), 0)
    key_pts = packets[keyframe].pts

    # Walk the decode order from the keyframe; the middle ends at the longest clean prefix.
    included = 0
    highest = None
    best: tuple[int, int, tuple[int, ...]] | None = None  # (packets taken, frames, dropped leading indexes)
    dropped: list[int] = []
    for offset, packet in enumerate(packets[keyframe:]):
        if packet.pts < key_pts:  # a leading picture of an open GOP: it needs the GOP before, drop it
            dropped.append(offset)
            continue
        if packet.pts >= end:
            break
        included += 1
        highest = packet.pts if highest is None else max(highest, packet.pts)
        frames_in_run = bisect.bisect_right(all_pts, highest) - bisect.bisect_left(all_pts, key_pts)
        if frames_in_run == included:
            best = (offset + 1, included, tuple(dropped))
    pieces: list[Piece] = []
    head_frames = bisect.bisect_left(all_pts, key_pts) - first_index
    if head_frames:
        pieces.append(Piece("encode", first_pts, key_pts, head_frames))
    if best is None:  # nothing copyable (should not happen: the keyframe alone is a clean run)
        return SmartCut((Piece("encode", first_pts, end, end_index - first_index),), 0)
    taken, frames, drop = best
    middle_start_index = bisect.bisect_left(all_pts, key_pts)
    after_middle = middle_start_index + frames
    middle_end = all_pts[after_middle] if after_middle < len(all_pts) else end
    middle_end = min(middle_end, end)
    pieces.append(Piece("copy", key_pts, middle_end, frames, packets=taken, drop=drop, skip=keyframe))
    tail_frames = end_index - after_middle
    if tail_frames > 0:
        pieces.append(Piece("encode", all_pts[after_middle], end, tail_frames))
    key_dts = packets[keyframe].dts
    delay = key_pts - key_dts if key_dts is not None else 0
    return SmartCut(tuple(pieces), max(0, delay))
