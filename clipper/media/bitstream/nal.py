"""NAL units (pure): Annex B framing, emulation prevention, and the bit-level reading and writing of the
Exp-Golomb coded headers H.264 and HEVC share."""

from __future__ import annotations

import re
from collections.abc import Sequence

_START = re.compile(b"\x00\x00\x01")
_ESCAPE = re.compile(b"\x00\x00(?=[\x00-\x03])")


class NalError(ValueError):
    """A header that cannot be read."""


def unescape(nal: bytes) -> bytes:
    """NAL payload -> RBSP: drop the emulation prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def escape(rbsp: bytes) -> bytes:
    """RBSP -> NAL payload: 00 00 followed by 00..03 gets a 03 between."""
    return _ESCAPE.sub(b"\x00\x00\x03", rbsp)


class Reader:
    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.size = len(data) * 8
        self.pos = 0

    def u(self, bits: int) -> int:
        if bits == 0:
            return 0
        if self.pos + bits > self.size:
            raise NalError("a header runs past its NAL unit")
        self.pos += bits
        return (self.value >> (self.size - self.pos)) & ((1 << bits) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise NalError("a broken Exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code % 2 else -(code // 2)

    def rest(self) -> tuple[int, int]:
        """(value, bit count) of everything from the current position."""
        bits = self.size - self.pos
        return self.value & ((1 << bits) - 1), bits


class Writer:
    def __init__(self) -> None:
        self.value = 0
        self.size = 0

    def u(self, bits: int, value: int) -> None:
        self.value = (self.value << bits) | (value & ((1 << bits) - 1))
        self.size += bits

    def ue(self, value: int) -> None:
        code = value + 1
        length = code.bit_length()
        self.u(length - 1, 0)
        self.u(length, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def bits(self, value: int, size: int) -> None:
        self.value = (self.value << size) | value
        self.size += size


def split_nals(data: bytes) -> list[bytes]:
    """Annex B bytes -> NAL units (without start codes; trailing zero bytes dropped)."""
    starts = [match.end() for match in _START.finditer(data)]
    nals = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        nal = data[start:end].rstrip(b"\x00")
        if nal:
            nals.append(nal)
    return nals


def join_nals(nals: Sequence[bytes]) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + nal for nal in nals)
