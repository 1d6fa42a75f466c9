"""The open-GOP rewrite of a copied H.264 piece (clipper.media.bitstream.splice) and the MPEG-TS it reads and writes.

Pure tests for the bit and packet layers; then real x264 streams (CABAC and CAVLC, one and several slices
per picture): a piece copied from an open GOP's keyframe, rewritten, must decode cleanly on its own and after
another stream, and show exactly the source's frames."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipper.core.errors import CutError
from clipper.media.bitstream import mpegts, splice
from clipper.media.bitstream.nal import NalError, Reader, Writer, escape, split_nals, unescape
from clipper.media.bitstream.splice import SpliceError
from clipper.run.checks import check_piece
from clipper.run.steps import Piece

# --- bits -------------------------------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.sampled_from(["ue", "se", "u5"]), st.integers(0, 100_000))))
def test_exp_golomb_codes_read_back(fields: list[tuple[str, int]]) -> None:
    writer = Writer()
    for kind, value in fields:
        if kind == "ue":
            writer.ue(value)
        elif kind == "se":
            writer.se(value - 50_000)
        else:
            writer.u(5, value)
    if writer.size % 8:
        writer.u(8 - writer.size % 8, 0)
    reader = Reader(writer.value.to_bytes(writer.size // 8, "big"))
    for kind, value in fields:
        if kind == "ue":
            assert reader.ue() == value
        elif kind == "se":
            assert reader.se() == value - 50_000
        else:
            assert reader.u(5) == value & 31


@pytest.mark.parametrize(("value", "bits"), [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (7, "0001000")])
def test_ue_codes_are_the_standard_ones(value: int, bits: str) -> None:
    writer = Writer()
    writer.ue(value)
    assert format(writer.value, f"0{writer.size}b") == bits


@given(st.binary(max_size=200))
def test_escaping_round_trips_and_leaves_no_start_code(rbsp: bytes) -> None:
    nal = escape(rbsp)
    assert b"\x00\x00\x00" not in nal and b"\x00\x00\x01" not in nal and b"\x00\x00\x02" not in nal
    if not rbsp.endswith(b"\x00"):  # a NAL unit never ends in a zero byte (the stop bit)
        assert unescape(nal) == rbsp


def test_a_reader_refuses_to_run_past_the_data() -> None:
    with pytest.raises(NalError, match="runs past"):
        Reader(b"\x00").ue()


# --- MPEG-TS ----------------------------------------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(st.integers(0, 2**33 - 1), st.integers(0, 5000), st.integers(1, 600), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_transport_streams_read_back_what_was_written(units: list[tuple[int, int, int, bool]]) -> None:
    written = [
        mpegts.AccessUnit(pts, max(0, pts - delay), bytes([index % 251 + 1]) * size, key)
        for index, (pts, delay, size, key) in enumerate(units)
    ]
    data = mpegts.write("h264", written)
    assert len(data) % 188 == 0
    codec, read = mpegts.read(data)
    assert codec == "h264"
    assert read == written


@pytest.mark.parametrize("size", [170, 171, 172, 173, 174, 175, 176, 177, 178, 182, 183, 184, 185, 366, 367])
def test_transport_packets_are_filled_exactly_at_every_size(size: int) -> None:
    """Sizes around one packet's room (the adaptation field of 1 and 2 bytes is where stuffing goes wrong)."""
    unit = mpegts.AccessUnit(9000, 9000, b"\x01" * size)
    codec, read = mpegts.read(mpegts.write("hevc", [unit, unit]))
    assert (codec, read) == ("hevc", [unit, unit])


def test_ffmpeg_reads_the_written_stream(tmp_path: Path) -> None:
    source = _encode(tmp_path / "a.mp4", [])
    piece = _piece(source, tmp_path / "piece.ts", 0.0, 30)
    codec, units = mpegts.read(piece.read_bytes())
    again = tmp_path / "again.ts"
    again.write_bytes(mpegts.write(codec, units))

    assert _md5s(again) == _md5s(piece)
    assert _times(again) == _times(piece)


def test_decode_times_left_empty_by_dropped_leading_pictures_are_closed() -> None:
    """A piece from an open GOP's keyframe (decode delay 4 frames) whose two leading pictures were dropped: its
    decode times must end before the re-encoded tail's first (its display time minus the delay), or the join
    pushes that IDR's decode time up and seeks for it land on the keyframe before it."""
    frame = 3600
    shown_decoded = [(500, 496), (501, 499), (505, 500), (503, 501), (504, 502)]  # 497, 498: the dropped ones
    units = [mpegts.AccessUnit(pts * frame, dts * frame, b"\x01", pts == 500) for pts, dts in shown_decoded]

    closed = splice.close_decode_gaps(units)

    assert [(unit.dts or 0) // frame for unit in closed] == [496, 497, 499, 500, 501]
    assert [(unit.pts, unit.data, unit.key) for unit in closed] == [(unit.pts, unit.data, unit.key) for unit in units]
    assert max(unit.dts or 0 for unit in closed) < (506 - 4) * frame  # the tail's first frame, 506, and its dts
    assert splice.close_decode_gaps(closed) == closed


def test_a_file_that_is_not_a_transport_stream_is_refused() -> None:
    with pytest.raises(mpegts.TsError):
        mpegts.read(b"\x47" + b"\x00" * 100)
    with pytest.raises(SpliceError, match="cannot read the piece"):
        splice.rewrite_piece(b"\x00" * 188)


# --- real streams ---------------------------------------------------------------------------------------------

FPS = 25
GOP = 50


def _encode(path: Path, params: list[str]) -> Path:
    """Four seconds of testsrc2, x264 with B-frames and a keyframe every 2 s (frames 0, 50)."""
    x264 = ":".join(["scenecut=0", *params])
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=160x96:rate={FPS}:duration=6",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", str(GOP), "-keyint_min", str(GOP),
                    "-x264-params", x264, "-pix_fmt", "yuv420p", str(path)], check=True)  # fmt: skip
    return path


def _piece(source: Path, target: Path, at: float, frames: int, drop: str = "", codec: str = "h264") -> Path:
    """Copy ``frames`` packets from the keyframe at ``at`` as the smart cut does (Annex B, parameter sets
    before keyframes; ``drop``: packets to leave out, as noise=drop counts them)."""
    filters = f"{codec}_mp4toannexb,dump_extra=freq=keyframe" + (f",noise=drop={drop}" if drop else "")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-copyts", "-ss", str(at), "-i", str(source), "-map", "0:v",
                    "-c:v", "copy", "-bsf:v", filters, "-frames:v", str(frames), "-muxdelay", "0", "-muxpreload", "0",
                    "-f", "mpegts", str(target)], check=True)  # fmt: skip
    return target


def _md5s(path: Path) -> list[str]:
    return [md5 for _, md5 in _frames(path)]


def _frames(path: Path) -> list[tuple[float, str]]:
    """(seconds, md5) of every decoded frame, in the order shown, with the file's own timestamps."""
    argv = ["ffmpeg", "-v", "error", "-copyts", "-i", str(path), "-map", "0:v", "-fps_mode", "passthrough",
            "-f", "framemd5", "-"]  # fmt: skip
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    base = next(line for line in out.splitlines() if line.startswith("#tb 0:")).split(":")[1].strip()
    numerator, denominator = map(int, base.split("/"))
    frames = []
    for line in out.splitlines():
        if line and not line.startswith("#"):
            fields = [field.strip() for field in line.split(",")]
            frames.append((round(int(fields[2]) * numerator / denominator, 3), fields[5]))
    return frames


def _times(path: Path) -> list[str]:
    argv = ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,dts", "-of", "csv=p=0"]
    return subprocess.run([*argv, str(path)], check=True, capture_output=True, text=True).stdout.split()


def _errors(path: Path) -> str:
    result = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True,
                            text=True)  # fmt: skip
    return result.stderr.strip()


def _leading(piece: Path) -> int:
    """How many packets after the first one show a frame before it (an open GOP's leading pictures)."""
    times = [int(line.split(",")[0]) for line in _times(piece)]
    count = 0
    for pts in times[1:]:
        if pts >= times[0]:
            break
        count += 1
    return count


def _slice_headers(path: Path) -> list[tuple[int, int]]:
    """(nal_unit_type, frame_num) of every slice, and (7, gaps_in_frame_num_allowed_flag) of every SPS, from
    ffmpeg's own bitstream parser (trace_headers)."""
    result = subprocess.run(["ffmpeg", "-loglevel", "debug", "-i", str(path), "-map", "0:v", "-c", "copy",
                             "-bsf:v", "trace_headers", "-f", "null", "-"], capture_output=True, text=True)  # fmt: skip
    headers: list[tuple[int, int]] = []
    kind = 0
    for line in result.stderr.splitlines():
        if " gaps_in_frame_num_allowed_flag " in line:
            headers.append((7, int(line.rsplit("=", 1)[1])))
        elif " nal_unit_type " in line:
            kind = int(line.rsplit("=", 1)[1])
        elif " frame_num " in line and kind in (1, 5):
            headers.append((kind, int(line.rsplit("=", 1)[1])))
    return headers


OPEN_GOPS = {
    "cabac": ["open-gop=1"],
    "cavlc": ["open-gop=1", "cabac=0"],
    "cabac-4-slices": ["open-gop=1", "slices=4"],
    "cavlc-3-slices-weighted": ["open-gop=1", "cabac=0", "slices=3", "weightp=2"],
}


@pytest.mark.parametrize("params", OPEN_GOPS.values(), ids=OPEN_GOPS.keys())
def test_a_piece_from_an_open_gop_keyframe_decodes_after_another_stream(tmp_path: Path, params: list[str]) -> None:
    source = _encode(tmp_path / "open.mp4", params)
    probe = _piece(source, tmp_path / "probe.ts", 2.0, 20)
    leading = _leading(probe)
    assert leading > 0, "the test needs leading pictures to drop"
    drop = "+".join(f"eq(n\\,{index})" for index in range(1, 1 + leading))
    piece = _piece(source, tmp_path / "piece.ts", 2.0, 60 - leading, drop)
    assert next(kind for kind, _ in _slice_headers(piece) if kind != 7) == 1  # an open GOP: its keyframe is no IDR

    spliced = tmp_path / "spliced.ts"
    spliced.write_bytes(splice.rewrite_piece(piece.read_bytes()))
    head = _piece(_encode(tmp_path / "other.mp4", ["bframes=0"]), tmp_path / "head.ts", 0.0, 25)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(head.read_bytes() + spliced.read_bytes())

    headers = _slice_headers(spliced)
    assert {flag for kind, flag in headers if kind == 7} == {1}  # the dropped pictures' frame_nums: a gap
    headers = [header for header in headers if header[0] != 7]
    idr_slices = next(index for index, (kind, _) in enumerate(headers) if kind != 5)
    assert idr_slices == (4 if "slices=4" in params else 3 if "slices=3" in params else 1), headers[:6]
    assert headers[:idr_slices] == [(5, 0)] * idr_slices  # the keyframe is an IDR with frame_num 0
    assert {kind for kind, _ in headers[idr_slices:]} == {1}  # the rest as they were, numbered from it
    assert _errors(spliced) == ""
    assert _errors(joined) == ""
    shown = sorted(round(int(line.split(",")[0]) / 90000, 3) for line in _times(piece))
    source_frames = dict(_frames(source))
    expected = [(seconds, source_frames[seconds]) for seconds in shown]
    assert _frames(spliced) == expected  # every frame, in order, bit-identical to the source's at its time
    assert _frames(joined)[25:] == expected
    before, after = ([tuple(map(int, line.strip(",").split(","))) for line in _times(path)]
                     for path in (piece, spliced))  # fmt: skip
    assert [pts for pts, _ in after] == [pts for pts, _ in before]  # display times untouched
    assert all(new <= old for (_, new), (_, old) in zip(after, before, strict=True))  # decode gaps closed, never later
    assert after[-1][1] <= max(pts for pts, _ in after) - (after[0][0] - after[0][1])  # ends a frame before the next


def test_a_piece_that_starts_with_an_idr_is_left_as_it_is(tmp_path: Path) -> None:
    piece = _piece(_encode(tmp_path / "closed.mp4", []), tmp_path / "piece.ts", 2.0, 30)
    data = piece.read_bytes()

    assert splice.rewrite_piece(data) is data


def test_the_command_writes_the_rewritten_piece_and_says_why_it_cannot(tmp_path: Path) -> None:
    source = _encode(tmp_path / "open.mp4", ["open-gop=1"])
    piece = _piece(source, tmp_path / "piece.ts", 2.0, 10)
    out = tmp_path / "out.ts"
    argv = splice.splice_argv(str(piece), str(out))

    assert subprocess.run(argv, check=False).returncode == 0
    assert out.read_bytes() == splice.rewrite_piece(piece.read_bytes())
    broken = tmp_path / "broken.ts"
    broken.write_bytes(b"\x00" * 188)
    result = subprocess.run(splice.splice_argv(str(broken), str(out)), capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("splice: cannot read the piece")


# --- HEVC -----------------------------------------------------------------------------------------------------


def _encode_hevc(path: Path, params: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=160x96:rate={FPS}:duration=6",
                    "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                    f"log-level=error:keyint={GOP}:min-keyint={GOP}:scenecut=0:{params}", "-tag:v", "hvc1",
                    "-pix_fmt", "yuv420p", str(path)], check=True)  # fmt: skip
    return path


def _hevc_types(path: Path) -> list[list[int]]:
    """The NAL unit types of each access unit's slices."""
    return [[(nal[0] >> 1) & 0x3F for nal in split_nals(unit.data) if (nal[0] >> 1) & 0x3F < 32]
            for unit in mpegts.read(path.read_bytes())[1]]  # fmt: skip


def test_an_hevc_piece_from_a_cra_keyframe_starts_with_a_broken_link_picture(tmp_path: Path) -> None:
    source = _encode_hevc(tmp_path / "open.mp4", "open-gop=1:bframes=3")
    probe = _piece(source, tmp_path / "probe.ts", 2.0, 20, codec="hevc")
    leading = _leading(probe)
    assert leading > 0 and _hevc_types(probe)[0] == [21], "the test needs a CRA with leading pictures"
    drop = "+".join(f"eq(n\\,{index})" for index in range(1, 1 + leading))
    piece = _piece(source, tmp_path / "piece.ts", 2.0, 40 - leading, drop, codec="hevc")
    spliced = tmp_path / "spliced.ts"
    spliced.write_bytes(splice.rewrite_piece(piece.read_bytes()))
    head = _piece(_encode_hevc(tmp_path / "other.mp4", "bframes=0"), tmp_path / "head.ts", 0.0, 25, codec="hevc")
    joined = tmp_path / "joined.ts"
    joined.write_bytes(head.read_bytes() + spliced.read_bytes())

    assert _hevc_types(spliced)[0] == [16]  # BLA_W_LP
    assert _hevc_types(spliced)[1:] == _hevc_types(piece)[1:]
    assert _errors(joined) == ""
    shown = sorted(round(int(line.split(",")[0]) / 90000, 3) for line in _times(piece))
    source_frames = dict(_frames(source))
    assert _frames(joined)[25:] == [(seconds, source_frames[seconds]) for seconds in shown]


def test_an_hevc_piece_from_an_idr_is_left_as_it_is(tmp_path: Path) -> None:
    source = _encode_hevc(tmp_path / "closed.mp4", "open-gop=0")
    data = _piece(source, tmp_path / "piece.ts", 2.0, 20, codec="hevc").read_bytes()

    assert splice.rewrite_piece(data) is data


# --- the runner's check of a copied piece -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["ts", "mkv"])
def test_a_copied_piece_must_start_at_its_keyframe_and_hold_its_frames(tmp_path: Path, suffix: str) -> None:
    source = _encode(tmp_path / "closed.mp4", [])
    piece = tmp_path / f"piece.{suffix}"
    argv = ["ffmpeg", "-v", "error", "-y", "-copyts", "-ss", "2", "-i", str(source), "-map", "0:v", "-c:v", "copy",
            "-frames:v", "30", "-muxdelay", "0", "-muxpreload", "0", str(piece)]  # fmt: skip
    subprocess.run(argv, check=True)
    good = Piece("copy", str(piece), frames=30, starts_at=2.0)

    check_piece(good)
    with pytest.raises(CutError, match=r"copied piece starts at 2\.0, not at 2\.04"):
        check_piece(replace(good, starts_at=2.04))
    with pytest.raises(CutError, match="holds 30 frames, not 31"):
        check_piece(replace(good, frames=31))


@pytest.fixture(scope="module")
def open_piece(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("fuzz")
    source = _encode(folder / "open.mp4", ["open-gop=1"])
    return _piece(source, folder / "piece.ts", 2.0, 12).read_bytes()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_damaged_piece_is_rewritten_or_refused_in_one_line(open_piece: bytes, hits: list[tuple[int, int]]) -> None:
    """Bytes changed where the tables, parameter sets and first slice headers are (the parsed part)."""
    data = bytearray(open_piece)
    for at, value in hits:
        data[at % len(data)] = value
    try:
        out = splice.rewrite_piece(bytes(data))
    except SpliceError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(out, bytes) and len(out) % 188 == 0
    with contextlib.suppress(ValueError, IndexError):  # what check_piece turns into a one-line error
        mpegts.summary(bytes(data))


def test_intra_refresh_points_are_told_from_whole_keyframes(tmp_path: Path) -> None:
    """x264's intra refresh marks P pictures as keyframes; its IDR and an open GOP's I picture are whole."""
    from clipper.media import refresh

    source = tmp_path / "refresh.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-x264-params", "intra-refresh=1",
                    str(source)], check=True)  # fmt: skip
    open_gop = _encode(tmp_path / "open.mp4", ["open-gop=1"])

    def landed(path: Path, at: float) -> tuple[float, bool] | None:
        output = tmp_path / "landed.ts"
        subprocess.run(refresh.landing_argv(str(path), at, str(output)), check=True, capture_output=True)
        return refresh.landed(output.read_bytes())

    assert landed(source, 0.5) == (0.0, False)  # the IDR
    point = landed(source, 1.5)
    assert point is not None and point[1] and 0.9 < point[0] < 1.5
    assert landed(open_gop, 2.5) == (2.0, False)
    assert refresh.landed(b"") is None

    def run(argv: Sequence[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True)

    assert refresh.uses_refresh(str(source), run) is True  # told once per source, from its second keyframe
    assert refresh.uses_refresh(str(open_gop), run) is False
    assert refresh.telling_keyframe("2.000000,K__\n0.040000,___\n0.000000,K__\n") == (2.0, True)
    assert refresh.telling_keyframe("0.000000,K__\nN/A,K__\n") == (0.0, False)  # one keyframe: the first
    assert refresh.telling_keyframe("0.040000,___\n") is None
