"""Open GOPs (pure): make a copied piece that starts at an open GOP's keyframe decodable after the re-encoded
head, as a new coded video sequence.

HEVC has the means for it: its open-GOP keyframe (a CRA picture) becomes a broken-link access picture (BLA),
the NAL unit type made for splicing: decoders start a new sequence there, as after an IDR. Only the two-byte
NAL headers of the first picture change.

H.264 has none. An open GOP's keyframe is not an IDR: it continues the sequence before it (its frame_num,
picture order count and reference marking count on the frames before), which the re-encoded head replaced. A
decoder reaching it after the head mixes the two: frames come out in the wrong order or not at all. So the
piece is rewritten:

- its first picture becomes an IDR (nal_unit_type 5, frame_num 0, an idr_pic_id, IDR reference marking);
- every later picture's frame_num is shifted by the same amount (until a real IDR), so the relative picture
  numbers in reference list changes and marking commands still point at the same pictures;
- a frame_num gap left by a dropped leading reference picture is declared allowed in the SPS
  (gaps_in_frame_num_value_allowed_flag), so decoders fill it with the "non-existing" frames the standard
  defines, as the dropped picture filled it;
- marking commands that release pictures from before the keyframe (no longer there) are removed.

Only slice headers and the SPS flag change; the coded macroblocks are copied bit for bit (with CABAC the slice
data is byte-aligned and moved whole; with CAVLC it is shifted as a bit string).

In both codecs the decode times the dropped leading pictures left empty are closed (``close_decode_gaps``), so
the piece ends where the re-encoded tail after it starts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from clipper.media.bitstream import mpegts
from clipper.media.bitstream.h264_headers import (
    IDR,
    KIND_I,
    KIND_SI,
    PPS,
    SLICE,
    SPS,
    Pps,
    Slice,
    SpliceError,
    Sps,
    allow_gaps,
    parse_pps,
    parse_slice,
    parse_sps,
    write_slice,
)
from clipper.media.bitstream.nal import join_nals, split_nals, unescape

# --- the piece ------------------------------------------------------------------------------------------------------


@dataclass
class _State:
    sps: dict[int, Sps] = field(default_factory=dict)
    pps: dict[int, Pps] = field(default_factory=dict)
    shift: int | None = None  # frame_num of the first picture (it becomes 0)
    refs: list[int] = field(default_factory=list)  # short-term reference frame_nums (new numbering)
    last_ref: int | None = None
    done: bool = False  # a real IDR came: the rest stays as it is


def _mark(state: _State, header: Slice, frame_num: int) -> None:
    """Follow the reference marking (sliding window or the operations) and drop operations that name a
    picture from before the keyframe."""
    sps = header.sps
    size = 1 << sps.log2_max_frame_num
    if state.last_ref is not None and header.nal_type != IDR:  # fill a gap with non-existing frames
        missing = (frame_num - state.last_ref - 1) % size
        if frame_num != state.last_ref and missing:
            for step in range(1, missing + 1):
                _slide(state, sps, (state.last_ref + step) % size)
                state.refs.append((state.last_ref + step) % size)
    if not header.ref_idc:
        return
    if header.marking is None:
        _slide(state, sps, frame_num)
    else:
        kept = []
        for operation in header.marking:
            if operation[0] != 1:
                raise SpliceError("long-term reference pictures")
            wanted = (frame_num - operation[1] - 1) % size
            if wanted in state.refs:
                state.refs.remove(wanted)
                kept.append(operation)
        header.marking = kept
    state.refs.append(frame_num)
    state.last_ref = frame_num


def _slide(state: _State, sps: Sps, current: int) -> None:
    """The sliding window: with the references full, the one with the smallest FrameNumWrap goes."""
    if len(state.refs) >= max(sps.max_num_ref_frames, 1):
        size = 1 << sps.log2_max_frame_num
        state.refs.remove(min(state.refs, key=lambda number: number - size if number > current else number))


def rewrite_unit(data: bytes, state: _State) -> bytes:
    """One access unit of the piece, rewritten (see the module's docstring)."""
    out: list[bytes] = []
    picture: Slice | None = None  # the unit's first slice
    idr = False
    for nal in split_nals(data):
        kind = nal[0] & 0x1F
        if kind == SPS:
            sps_id, sps = parse_sps(unescape(nal))
            state.sps[sps_id] = sps
            out.append(nal if state.done else allow_gaps(nal, sps))
        elif kind == PPS:
            pps_id, pps = parse_pps(unescape(nal))
            state.pps[pps_id] = pps
            out.append(nal)
        elif kind in (SLICE, IDR) and not state.done:
            header = parse_slice(unescape(nal), state.sps, state.pps)
            if header.field_pic:
                raise SpliceError("field-coded pictures")
            if kind == IDR and state.shift is not None:
                state.done = True
                out.append(nal)
                continue
            if state.shift is None:  # the piece's first picture: it becomes the IDR
                if header.slice_type % 5 not in (KIND_I, KIND_SI) or not header.ref_idc:
                    raise SpliceError("the piece does not start with an intra reference picture")
                state.shift, idr = header.frame_num, True
            frame_num = (header.frame_num - state.shift) % (1 << header.sps.log2_max_frame_num)
            if picture is None:
                if idr:
                    state.refs, state.last_ref = [0], 0
                else:
                    _mark(state, header, frame_num)
                picture = header
            else:  # the picture's other slices carry the same marking as its first
                header.marking = picture.marking
            out.append(write_slice(header, idr=idr, frame_num=frame_num))
        else:
            out.append(nal)
    return join_nals(out)


HEVC_CRA, HEVC_BLA_W_LP = 21, 16
HEVC_IRAP = range(16, 24)  # BLA, IDR, CRA (and reserved IRAP types)
HEVC_SLICES = range(0, 32)


def _hevc_type(nal: bytes) -> int:
    return (nal[0] >> 1) & 0x3F


def rewrite_hevc(units: list[mpegts.AccessUnit]) -> bytes:
    """The first picture's CRA slices become BLA_W_LP (its leading pictures were dropped already)."""
    rewritten = [bytes([(nal[0] & 0x81) | HEVC_BLA_W_LP << 1]) + nal[1:] if _hevc_type(nal) == HEVC_CRA else nal
                 for nal in split_nals(units[0].data)]  # fmt: skip
    first = mpegts.AccessUnit(units[0].pts, units[0].dts, join_nals(rewritten), key=True)
    return mpegts.write("hevc", [first, *units[1:]])


def starts_sequence(codec: str, unit: bytes) -> bool:
    """Whether an access unit starts a coded video sequence already: an H.264 IDR, an HEVC IDR or BLA."""
    nals = split_nals(unit)
    if codec == "hevc":
        slices = [kind for kind in map(_hevc_type, nals) if kind in HEVC_SLICES]
        if not slices or slices[0] not in HEVC_IRAP:
            raise SpliceError("the piece does not start with a random access picture")
        return HEVC_CRA not in slices
    first_slice = next((nal[0] & 0x1F for nal in nals if nal[0] & 0x1F in (SLICE, IDR)), None)
    if first_slice is None:
        raise SpliceError("the piece holds no picture")
    return first_slice == IDR


def rewrite_piece(data: bytes) -> bytes:
    """An MPEG-TS piece that starts at an open GOP's keyframe -> one that starts a new sequence there (the
    same bytes when it starts one already). Whatever the bytes, it returns or raises SpliceError."""
    try:
        return _rewrite_piece(data)
    except SpliceError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as error:  # a stream broken in a way not foreseen
        raise SpliceError(f"cannot rewrite the piece: {type(error).__name__}: {error}") from None


def _rewrite_piece(data: bytes) -> bytes:
    try:
        codec, first = mpegts.read(data, limit=1)
        if not first:
            raise SpliceError("the piece holds no picture")
        if starts_sequence(codec, first[0].data):  # a closed GOP: nothing to do (and nothing more to read)
            return data
        codec, units = mpegts.read(data)
    except mpegts.TsError as error:
        raise SpliceError(f"cannot read the piece: {error}") from None
    units = close_decode_gaps(units)
    if codec == "hevc":
        return rewrite_hevc(units)
    state = _State()
    rewritten = []
    for index, unit in enumerate(units):
        data = rewrite_unit(unit.data, state)
        rewritten.append(mpegts.AccessUnit(unit.pts, unit.dts, data, key=unit.key or index == 0))
    return mpegts.write("h264", rewritten)


def close_decode_gaps(units: list[mpegts.AccessUnit]) -> list[mpegts.AccessUnit]:
    """The units with the decode-time gaps the dropped leading pictures left closed.

    A dropped picture leaves its decode time empty, so the piece's last decode time is later than its last
    frame's display time minus the decode delay, the decode time the re-encoded tail's first frame gets (see
    ``cut.encode_piece``). The join then pushes the tail's decode times up to keep them rising, and its first
    frame, an IDR, is stored with a smaller delay than the rest of the clip: seeks for it (players', and the
    check at the seams) land on the open GOP's keyframe before it instead, whose leading pictures and
    reference marking need pictures from before it. Each unit takes the earlier of its own decode time and
    the one it would have without the gaps (the k-th smallest display time minus the first unit's delay):
    still rising, never after its display time."""
    first = units[0] if units else None
    if first is None or first.pts is None or first.dts is None or any(u.pts is None or u.dts is None for u in units):
        return units
    delay = first.pts - first.dts
    shown = sorted(unit.pts for unit in units if unit.pts is not None)
    return [replace(unit, dts=min(unit.dts, at - delay)) if unit.dts is not None else unit
            for unit, at in zip(units, shown, strict=True)]  # fmt: skip


def splice_argv(piece: str, output: str) -> list[str]:
    """The command that rewrites a copied piece (a step of the smart cut, printed by the dry run; the runner
    calls ``rewrite_file`` with its last two arguments instead of starting Python again)."""
    return [sys.executable, "-m", "clipper.media.bitstream.splice", piece, output]


def rewrite_file(piece: str, output: str) -> None:
    """``rewrite_piece`` from file to file."""
    Path(output).write_bytes(rewrite_piece(Path(piece).read_bytes()))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m clipper.media.bitstream.splice IN.ts OUT.ts``: the rewrite as a command (a smart cut's step)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m clipper.media.bitstream.splice IN.ts OUT.ts", file=sys.stderr)
        return 2
    try:
        rewrite_file(args[0], args[1])
    except (OSError, SpliceError) as error:
        print(f"splice: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
