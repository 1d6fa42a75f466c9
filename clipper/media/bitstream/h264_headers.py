"""H.264 parameter sets and slice headers, read to the fields the open-GOP rewrite (``splice``) changes and
written back with them changed: frame_num, IDR or not, reference marking, the SPS's frame_num gaps flag. The
coded macroblocks are carried as they are (see ``write_slice``).
"""

from __future__ import annotations

from dataclasses import dataclass

from clipper.media.bitstream.nal import NalError, Reader, Writer, escape, unescape

_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
SLICE, IDR, SPS, PPS = 1, 5, 7, 8
KIND_P, KIND_B, KIND_I, KIND_SP, KIND_SI = 0, 1, 2, 3, 4  # slice_type % 5


class SpliceError(NalError):
    """The stream uses something this rewriter does not handle (the clip is then re-encoded)."""


# --- parameter sets ----------------------------------------------------------------------------------------------


@dataclass
class Sps:
    chroma_format_idc: int = 1
    separate_colour_plane: bool = False
    log2_max_frame_num: int = 4
    poc_type: int = 0
    log2_max_poc_lsb: int = 4
    delta_pic_order_always_zero: bool = False
    max_num_ref_frames: int = 1
    frame_mbs_only: bool = True
    gaps_flag_at: int = 0  # bit position of gaps_in_frame_num_value_allowed_flag in the RBSP (after the header byte)


@dataclass
class Pps:
    sps_id: int
    cabac: bool
    bottom_field_pic_order: bool
    num_ref_idx_l0: int
    num_ref_idx_l1: int
    weighted_pred: bool
    weighted_bipred_idc: int
    deblocking_control: bool
    redundant_pic_cnt: bool


def _scaling_lists(reader: Reader, count: int) -> None:
    for index in range(count):
        if reader.u(1):
            last = following = 8
            for _ in range(16 if index < 6 else 64):
                if following:
                    following = (last + reader.se() + 256) % 256
                last = following or last


def parse_sps(rbsp: bytes) -> tuple[int, Sps]:
    """An SPS NAL's RBSP (header byte first) -> its id and the fields slice headers are read with."""
    reader = Reader(rbsp[1:])
    profile = reader.u(8)
    reader.u(16)  # constraint flags, level
    sps_id = reader.ue()
    sps = Sps()
    if profile in _HIGH_PROFILES:
        sps.chroma_format_idc = reader.ue()
        if sps.chroma_format_idc == 3:
            sps.separate_colour_plane = bool(reader.u(1))
        reader.ue()  # bit depths
        reader.ue()
        reader.u(1)
        if reader.u(1):
            _scaling_lists(reader, 8 if sps.chroma_format_idc != 3 else 12)
    sps.log2_max_frame_num = reader.ue() + 4
    sps.poc_type = reader.ue()
    if sps.poc_type == 0:
        sps.log2_max_poc_lsb = reader.ue() + 4
    elif sps.poc_type == 1:
        sps.delta_pic_order_always_zero = bool(reader.u(1))
        reader.se()
        reader.se()
        for _ in range(reader.ue()):
            reader.se()
    sps.max_num_ref_frames = reader.ue()
    sps.gaps_flag_at = reader.pos
    reader.u(1)
    reader.ue()
    reader.ue()
    sps.frame_mbs_only = bool(reader.u(1))
    return sps_id, sps


def allow_gaps(nal: bytes, sps: Sps) -> bytes:
    """The SPS NAL with gaps_in_frame_num_value_allowed_flag set."""
    rbsp = bytearray(unescape(nal))
    at = 8 + sps.gaps_flag_at  # the header byte, then the flag's position
    rbsp[at // 8] |= 0x80 >> (at % 8)
    return escape(bytes(rbsp))


def parse_pps(rbsp: bytes) -> tuple[int, Pps]:
    """A PPS NAL's RBSP (header byte first) -> its id and the fields slice headers are read with."""
    reader = Reader(rbsp[1:])
    pps_id, sps_id = reader.ue(), reader.ue()
    cabac, bottom = bool(reader.u(1)), bool(reader.u(1))
    if reader.ue():
        raise SpliceError("slice groups (FMO)")
    l0, l1 = reader.ue() + 1, reader.ue() + 1
    weighted, bipred = bool(reader.u(1)), reader.u(2)
    reader.se()
    reader.se()
    reader.se()
    deblocking = bool(reader.u(1))
    reader.u(1)
    redundant = bool(reader.u(1))
    return pps_id, Pps(sps_id, cabac, bottom, l0, l1, weighted, bipred, deblocking, redundant)


# --- slice headers ------------------------------------------------------------------------------------------------


@dataclass
class Slice:
    """A parsed slice header: the fields this rewriter changes, and the raw bits around them."""

    nal_type: int
    ref_idc: int
    first_mb: int
    slice_type: int
    pps_id: int
    frame_num: int
    sps: Sps
    pps: Pps
    before_frame_num: tuple[int, int]  # (value, bits): first_mb_in_slice .. colour_plane_id
    after_frame_num: tuple[int, int]  # field flags .. (not idr_pic_id) .. up to dec_ref_pic_marking
    marking: list[tuple[int, ...]] | None  # None: sliding window; else the memory management operations
    after_marking: tuple[int, int]  # cabac_init_idc .. end of the header
    data: tuple[int, int]  # the slice data (after alignment for CABAC)
    field_pic: bool = False


def _copy(reader: Reader, writer: Writer, action: str) -> None:
    value = reader.ue() if action == "ue" else reader.se()
    writer.ue(value) if action == "ue" else writer.se(value)


def parse_slice(rbsp: bytes, sps_by_id: dict[int, Sps], pps_by_id: dict[int, Pps]) -> Slice:
    """A slice NAL's header (its RBSP, the NAL header byte first), read with the parameter sets it names: the
    fields the rewrite changes, and the bits around them to write back as they were."""
    nal_type, ref_idc = rbsp[0] & 0x1F, (rbsp[0] >> 5) & 0x3
    reader = Reader(rbsp[1:])
    before = Writer()
    first_mb, slice_type, pps_id = reader.ue(), reader.ue(), reader.ue()
    before.ue(first_mb)
    before.ue(slice_type)
    before.ue(pps_id)
    if pps_id not in pps_by_id:
        raise SpliceError(f"a slice refers to a missing PPS {pps_id}")
    pps = pps_by_id[pps_id]
    if pps.sps_id not in sps_by_id:
        raise SpliceError(f"a PPS refers to a missing SPS {pps.sps_id}")
    sps = sps_by_id[pps.sps_id]
    if sps.separate_colour_plane:
        before.u(2, reader.u(2))
    frame_num = reader.u(sps.log2_max_frame_num)
    after = Writer()
    field_pic = _copy_picture_fields(reader, after, nal_type, sps, pps)
    kind = slice_type % 5
    _copy_prediction_fields(reader, after, kind, sps, pps)
    marking = _read_marking(reader, nal_type, ref_idc)
    tail = _copy_tail(reader, kind, pps)
    return Slice(nal_type, ref_idc, first_mb, slice_type, pps_id, frame_num, sps, pps, (before.value, before.size),
                 (after.value, after.size), marking, (tail.value, tail.size), reader.rest(), field_pic)  # fmt: skip


def _copy_picture_fields(reader: Reader, after: Writer, nal_type: int, sps: Sps, pps: Pps) -> bool:
    """Field flags, picture order count and redundant_pic_cnt, copied (idr_pic_id skipped: the writer puts it
    back); whether the slice is a field's."""
    field_pic = False
    if not sps.frame_mbs_only:
        field_pic = bool(reader.u(1))
        after.u(1, int(field_pic))
        if field_pic:
            after.u(1, reader.u(1))
    if nal_type == IDR:
        reader.ue()  # idr_pic_id: written again by the caller
    if sps.poc_type == 0:
        after.u(sps.log2_max_poc_lsb, reader.u(sps.log2_max_poc_lsb))
        if pps.bottom_field_pic_order and not field_pic:
            _copy(reader, after, "se")
    if sps.poc_type == 1 and not sps.delta_pic_order_always_zero:
        _copy(reader, after, "se")
        if pps.bottom_field_pic_order and not field_pic:
            _copy(reader, after, "se")
    if pps.redundant_pic_cnt:
        _copy(reader, after, "ue")
    return field_pic


def _copy_prediction_fields(reader: Reader, after: Writer, kind: int, sps: Sps, pps: Pps) -> None:
    """direct_spatial_mv_pred, the reference list sizes, their modifications and the weight table, copied."""
    l0, l1 = pps.num_ref_idx_l0, pps.num_ref_idx_l1
    if kind == KIND_B:
        after.u(1, reader.u(1))
    if kind in (KIND_P, KIND_SP, KIND_B):
        override = reader.u(1)
        after.u(1, override)
        if override:
            l0 = reader.ue() + 1
            after.ue(l0 - 1)
            if kind == KIND_B:
                l1 = reader.ue() + 1
                after.ue(l1 - 1)
    for _ in (0, 1) if kind == KIND_B else (0,) if kind in (KIND_P, KIND_SP) else ():
        flag = reader.u(1)
        after.u(1, flag)
        while flag:
            idc = reader.ue()
            after.ue(idc)
            if idc == 3:
                break
            if idc > 5:
                raise SpliceError("a broken reference list modification")
            _copy(reader, after, "ue")
    if (pps.weighted_pred and kind in (KIND_P, KIND_SP)) or (pps.weighted_bipred_idc == 1 and kind == KIND_B):
        after.ue(reader.ue())  # luma_log2_weight_denom
        chroma = sps.chroma_format_idc != 0 and not sps.separate_colour_plane
        if chroma:
            after.ue(reader.ue())
        for count in (l0, l1) if kind == KIND_B else (l0,):
            for _ in range(count):
                for present_count in (2, 4) if chroma else (2,):
                    flag = reader.u(1)
                    after.u(1, flag)
                    for _ in range(present_count if flag else 0):
                        _copy(reader, after, "se")


def _read_marking(reader: Reader, nal_type: int, ref_idc: int) -> list[tuple[int, ...]] | None:
    """dec_ref_pic_marking: None for the sliding window, else its memory management operations (none for an
    IDR, whose two flags the writer puts back)."""
    marking: list[tuple[int, ...]] | None = None
    if ref_idc:
        if nal_type == IDR:
            reader.u(2)  # no_output_of_prior_pics, long_term_reference: written again by the caller
            marking = []
        elif reader.u(1):
            marking = []
            while (operation := reader.ue()) != 0:
                if operation in (1, 3):
                    args: tuple[int, ...] = (operation, reader.ue()) + ((reader.ue(),) if operation == 3 else ())
                elif operation in (2, 4, 6):
                    args = (operation, reader.ue())
                elif operation == 5:
                    args = (5,)
                else:
                    raise SpliceError("a broken memory management operation")
                marking.append(args)
    return marking


def _copy_tail(reader: Reader, kind: int, pps: Pps) -> Writer:
    """cabac_init_idc .. the deblocking fields, copied; the reader left at the slice data (CABAC: aligned)."""
    tail = Writer()
    if pps.cabac and kind not in (KIND_I, KIND_SI):
        _copy(reader, tail, "ue")
    _copy(reader, tail, "se")  # slice_qp_delta
    if kind in (KIND_SP, KIND_SI):
        raise SpliceError("SP/SI slices")
    if pps.deblocking_control:
        idc = reader.ue()
        tail.ue(idc)
        if idc != 1:
            _copy(reader, tail, "se")
            _copy(reader, tail, "se")
    if pps.cabac:
        while reader.pos % 8:
            if reader.u(1) != 1:
                raise SpliceError("a broken CABAC alignment")
    return tail


def write_slice(header: Slice, *, idr: bool, frame_num: int) -> bytes:
    """The slice NAL (escaped) with the given frame_num, as an IDR or not, and its marking operations."""
    writer = Writer()
    writer.u(8, (header.ref_idc << 5) | (IDR if idr else SLICE))
    writer.bits(*header.before_frame_num)
    writer.u(header.sps.log2_max_frame_num, frame_num)
    if idr:
        _after_for_idr(writer, header)
    else:
        writer.bits(*header.after_frame_num)
    if header.ref_idc:
        if idr:
            writer.u(2, 0)  # no_output_of_prior_pics_flag 0 (the head is shown), not long-term
        elif header.marking is None:
            writer.u(1, 0)
        else:
            writer.u(1, 1)
            for operation in header.marking:
                writer.ue(operation[0])
                for value in operation[1:]:
                    writer.ue(value)
            writer.ue(0)
    writer.bits(*header.after_marking)
    data, bits = header.data
    if header.pps.cabac:
        while writer.size % 8:
            writer.u(1, 1)
        writer.bits(data, bits)
    else:  # CAVLC: the data ends in the stop bit and alignment zeros; move them to the new alignment
        trailing = (data & -data).bit_length() - 1 if data else 0
        writer.bits(data >> trailing, bits - trailing)
        while writer.size % 8:
            writer.u(1, 0)
    return escape(writer.value.to_bytes(writer.size // 8, "big"))


def _after_for_idr(writer: Writer, header: Slice) -> None:
    """The fields after frame_num for an IDR: field flags, idr_pic_id 0, then the rest as parsed."""
    value, bits = header.after_frame_num
    flag_bits = 0 if header.sps.frame_mbs_only else (2 if header.field_pic else 1)
    writer.bits(value >> (bits - flag_bits), flag_bits)
    writer.ue(0)  # idr_pic_id
    writer.bits(value & ((1 << (bits - flag_bits)) - 1), bits - flag_bits)
