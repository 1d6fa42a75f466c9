"""Smart-cut planning (pure): which frames are re-encoded and which packets are copied."""

from __future__ import annotations

import pytest

from clipper.core.errors import CutError
from clipper.media.smart import Packet, Piece, smart_cut


def closed_gop(frames: int, gop: int, delay: int = 0, pattern: tuple[int, ...] = ()) -> list[Packet]:
    """Packets in decode order for frames 0..frames-1 (pts = frame index), keyframe every ``gop`` frames.

    ``pattern`` reorders each mini-GOP the way B-frames do: e.g. (2, 0, 1) sends frame 2 before 0 and 1.
    """
    order: list[int] = []
    for gop_start in range(0, frames, gop):
        order.append(gop_start)
        index = gop_start + 1
        while index < min(gop_start + gop, frames):
            size = len(pattern) if pattern else 1
            group = list(range(index, min(index + size, gop_start + gop, frames)))
            if pattern and len(group) == len(pattern):
                group = [group[p] for p in pattern]
            order += group
            index += size
    return [Packet(pts, position - delay, pts % gop == 0) for position, pts in enumerate(order)]


def test_start_on_a_keyframe_copies_everything() -> None:
    plan = smart_cut(closed_gop(100, 25), 25, 75)
    assert plan.pieces == (Piece("copy", 25, 75, 50, packets=50, skip=25),)  # 25 packets listed before it
    assert plan.encoded_frames == 0


def test_start_after_a_keyframe_encodes_up_to_the_next_one() -> None:
    plan = smart_cut(closed_gop(100, 25), 30, 75)
    assert plan.pieces == (Piece("encode", 30, 50, 20), Piece("copy", 50, 75, 25, packets=25, skip=50))
    assert (plan.encoded_frames, plan.copied_frames) == (20, 25)


def test_no_keyframe_in_the_clip_encodes_it_all() -> None:
    plan = smart_cut(closed_gop(100, 25), 30, 40)
    assert plan.pieces == (Piece("encode", 30, 40, 10),)


def test_b_frames_end_where_a_clean_decode_prefix_ends() -> None:
    # Mini-GOPs of 3 sent as P B B: (2, 0, 1) -> pts order 2,0,1 then 5,3,4 ...
    packets = closed_gop(100, 24, delay=2, pattern=(2, 0, 1))
    plan = smart_cut(packets, 24, 59)
    # From the keyframe at 24 the mini-GOPs (sent 27,25,26 / 30,28,29 / ... / 57,55,56) end cleanly at 57;
    # the next one is sent as 60 first, past the end, so frame 58 is re-encoded as the tail.
    assert plan.pieces == (Piece("copy", 24, 58, 34, packets=34, skip=24), Piece("encode", 58, 59, 1))
    assert plan.decode_delay == 2


def test_open_gop_leading_pictures_are_dropped_from_the_copy() -> None:
    # Keyframe 10 is sent before frames 8 and 9, which belong to it but show before it (open GOP).
    packets = [Packet(p, i, p in (0, 10, 20)) for i, p in enumerate([0, 1, 2, 3, 4, 5, 6, 7, 10, 8, 9, 11, 12,
                                                                      13, 14, 15, 16, 17, 20, 18, 19, 21])]  # fmt: skip
    plan = smart_cut(packets, 5, 21)
    assert plan.pieces == (
        Piece("encode", 5, 10, 5),
        Piece("copy", 10, 21, 11, packets=13, drop=(1, 2), skip=8),
    )


def test_no_frame_in_range_is_an_error() -> None:
    with pytest.raises(CutError, match="no video frame"):
        smart_cut(closed_gop(10, 5), 20, 30)
