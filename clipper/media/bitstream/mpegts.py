"""MPEG-TS, just enough of it (pure): read a video stream's access units with their timestamps out of a file
ffmpeg wrote, and write access units back as a one-program transport stream ffmpeg reads.

Smart-cut pieces of H.264 and HEVC are MPEG-TS (parameter sets travel in-band), and ``splice`` rewrites
the first copied piece's bitstream between ffmpeg's copy and ffmpeg's join.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

PACKET = 188
VIDEO_PID = 0x100
PMT_PID = 0x1000
STREAM_TYPES = {0x1B: "h264", 0x24: "hevc"}


@dataclass(frozen=True)
class AccessUnit:
    pts: int | None  # 90 kHz
    dts: int | None
    data: bytes
    key: bool = False


class TsError(ValueError):
    pass


def _timestamp(field: bytes) -> int:
    return ((field[0] >> 1) & 0x07) << 30 | field[1] << 22 | (field[2] >> 1) << 15 | field[3] << 7 | field[4] >> 1


class _Scan(NamedTuple):
    stream_type: int
    begins: list[int]  # byte offsets of each video packet's payload
    ends: list[int]
    units: list[int]  # indexes (into begins/ends) of the packets that start a PES packet
    keys: list[bool]  # whether each of those is marked as a random access point


def _payloads(data: bytes, limit: int | None = None) -> _Scan:
    """Where the payloads of the first video stream in the program lie, and which packets start its PES
    packets. With ``limit``, only up to (not including) that many units' starts.

    The packets' header bytes are read as strided slices and only integers are kept (no object per packet
    for the garbage collector to walk): a piece of thousands of packets takes milliseconds."""
    if len(data) % PACKET:
        raise TsError("not a whole number of transport packets")
    syncs = data[0::PACKET]
    if syncs.count(0x47) != len(syncs):
        raise TsError(f"lost sync at byte {next(i for i, b in enumerate(syncs) if b != 0x47) * PACKET}")
    pmt_pid = video_pid = None
    stream_type = 0
    begins: list[int] = []
    ends: list[int] = []
    units: list[int] = []
    keys: list[bool] = []
    headers = zip(data[1::PACKET], data[2::PACKET], data[3::PACKET], strict=True)
    for index, (flags, low, control_byte) in enumerate(headers):
        pid = (flags & 0x1F) << 8 | low
        if pid != video_pid and video_pid is not None:
            continue
        offset = index * PACKET
        body = offset + 4
        random_access = False
        if control_byte & 0x20:
            body += 1 + data[offset + 4]
            random_access = data[offset + 4] > 0 and bool(data[offset + 5] & 0x40)
        if not control_byte & 0x10 or body >= offset + PACKET:
            continue
        start = flags & 0x40
        if pid == video_pid:
            if start:
                if limit is not None and len(units) >= limit:
                    break
                units.append(len(begins))
                keys.append(random_access)
            begins.append(body)
            ends.append(offset + PACKET)
        elif pid == 0 and start and pmt_pid is None:
            section = data[body + 1 + data[body] : offset + PACKET]
            pmt_pid = (section[10] & 0x1F) << 8 | section[11]
        elif pid == pmt_pid and start and video_pid is None:
            section = data[body + 1 + data[body] : offset + PACKET]
            length = (section[1] & 0x0F) << 8 | section[2]
            at = 12 + ((section[10] & 0x0F) << 8 | section[11])
            while at < 3 + length - 4:
                kind, elementary = section[at], (section[at + 1] & 0x1F) << 8 | section[at + 2]
                if kind in STREAM_TYPES:
                    video_pid, stream_type = elementary, kind
                    break
                at += 5 + ((section[at + 3] & 0x0F) << 8 | section[at + 4])
    if video_pid is None:
        raise TsError("no H.264 or HEVC stream")
    return _Scan(stream_type, begins, ends, units, keys)


def _unit(pes: bytes, key: bool) -> AccessUnit:
    if pes[:3] != b"\x00\x00\x01":
        raise TsError("a PES packet without its start code")
    flags, header = pes[7], pes[8]
    pts = _timestamp(pes[9:14]) if flags & 0x80 else None
    dts = _timestamp(pes[14:19]) if flags & 0xC0 == 0xC0 else pts
    return AccessUnit(pts, dts, pes[9 + header :], key)


def _pes(data: bytes, scan: _Scan, number: int, most: int | None = None) -> bytes:
    """PES packet ``number`` (only its first ``most`` transport packets when given)."""
    first = scan.units[number]
    last = scan.units[number + 1] if number + 1 < len(scan.units) else len(scan.begins)
    if most is not None:
        last = min(last, first + most)
    return b"".join(data[scan.begins[index] : scan.ends[index]] for index in range(first, last))


def read(data: bytes, limit: int | None = None) -> tuple[str, list[AccessUnit]]:
    """The codec and access units (one per PES packet, as ffmpeg's muxer writes them) of the video stream;
    only the first ``limit`` of them when given."""
    scan = _payloads(data, limit)
    found = [_unit(_pes(data, scan, number), scan.keys[number]) for number in range(len(scan.units))]
    return STREAM_TYPES[scan.stream_type], found


def summary(data: bytes) -> tuple[int, int | None]:
    """(access units, the first one's pts) of the video stream, without assembling them.

    The stream is found as ``read`` finds it; its units are then counted over every packet at once: the
    packets that start a PES packet on its PID and carry a payload. Each header byte of interest is mapped to
    0 or 1 for the whole piece at C speed, and the maps are combined as integers: a tenth of the time a loop
    over the packets takes."""
    scan = _payloads(data, limit=1)
    if not scan.units:
        return 0, None
    first = _unit(_pes(data, scan, number=0, most=2), False).pts
    at = scan.begins[scan.units[0]] // PACKET * PACKET  # the packet that starts the first unit
    pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]

    def bits(column: int, test: Callable[[int], bool]) -> int:
        return int.from_bytes(data[column::PACKET].translate(bytes(test(byte) for byte in range(256))), "big")

    starts = bits(1, lambda byte: byte & 0x5F == 0x40 | pid >> 8) & bits(2, lambda byte: byte == pid & 0xFF)
    payload = bits(3, lambda byte: byte & 0x10 != 0)
    # ... and some of it left after an adaptation field
    room = bits(3, lambda byte: byte & 0x20 == 0) | bits(4, lambda byte: byte < PACKET - 5)
    return (starts & payload & room).bit_count(), first


def _crc32(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = (crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _section_packet(pid: int, section: bytes) -> bytes:
    body = b"\x00" + section + _crc32(section).to_bytes(4, "big")
    return bytes([0x47, 0x40 | pid >> 8, pid & 0xFF, 0x10]) + body + b"\xff" * (PACKET - 4 - len(body))


def _tables(codec: str) -> bytes:
    pat = bytes([0x00, 0xB0, 13, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xE0 | PMT_PID >> 8, PMT_PID & 0xFF])
    kind = next(key for key, name in STREAM_TYPES.items() if name == codec)
    pmt = bytes([0x02, 0xB0, 18, 0x00, 0x01, 0xC1, 0x00, 0x00, 0xE0 | VIDEO_PID >> 8, VIDEO_PID & 0xFF, 0xF0, 0x00,
                 kind, 0xE0 | VIDEO_PID >> 8, VIDEO_PID & 0xFF, 0xF0, 0x00])  # fmt: skip
    return _section_packet(0, pat) + _section_packet(PMT_PID, pmt)


def _stamp(prefix: int, value: int) -> bytes:
    value &= (1 << 33) - 1
    return bytes([prefix << 4 | (value >> 29) & 0x0E | 1, (value >> 22) & 0xFF, (value >> 14) & 0xFE | 1,
                  (value >> 7) & 0xFF, (value << 1) & 0xFE | 1])  # fmt: skip


def _adaptation(body: bytes, total: int) -> bytes:
    """An adaptation field of exactly ``total`` bytes (length byte included) holding ``body``, stuffed."""
    if total == 0:
        return b""
    if total == 1:
        return b"\x00"
    body = body or b"\x00"  # flags: nothing set
    return bytes([total - 1]) + body + b"\xff" * (total - 1 - len(body))


def write(codec: str, units: list[AccessUnit]) -> bytes:
    """A transport stream of ``units``: PAT and PMT first, then one PES packet per access unit, each starting
    a transport packet that carries a PCR (and the random access flag on keyframes)."""
    out = bytearray(_tables(codec))
    counter = 0
    for unit in units:
        if unit.pts is not None and unit.dts is not None and unit.dts != unit.pts:
            header = bytes([0x80, 0xC0, 10]) + _stamp(3, unit.pts) + _stamp(1, unit.dts)
        elif unit.pts is not None:
            header = bytes([0x80, 0x80, 5]) + _stamp(2, unit.pts)
        else:
            header = bytes([0x80, 0x00, 0])
        pes = b"\x00\x00\x01\xe0\x00\x00" + header + unit.data
        clock = unit.dts if unit.dts is not None else unit.pts or 0
        pcr = (max(0, clock - 1) & ((1 << 33) - 1)) << 15 | 0x7E00
        body = bytes([0x10 | (0x40 if unit.key else 0)]) + pcr.to_bytes(6, "big")
        at, first = 0, True
        while at < len(pes):
            need = 1 + len(body) if first else 0
            size = min(len(pes) - at, PACKET - 4 - need)
            field = _adaptation(body if first else b"", PACKET - 4 - size)
            control = 0x30 if field else 0x10
            out += bytes([0x47, (0x40 if first else 0) | VIDEO_PID >> 8, VIDEO_PID & 0xFF, control | counter])
            out += field + pes[at : at + size]
            at += size
            counter = (counter + 1) & 0x0F
            first = False
    return bytes(out)
