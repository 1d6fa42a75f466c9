"""ffprobe readings: one run for the streams and a clip's packets reads what two runs read."""

from __future__ import annotations

from pathlib import Path

import pytest
from media import make_media

from clipper.media import probe


@pytest.mark.parametrize(("vcodec", "suffix"), [("libx264", ".mp4"), ("libvpx-vp9", ".webm")])
def test_one_ffprobe_run_reads_the_streams_and_the_packets_of_two(tmp_path: Path, vcodec: str, suffix: str) -> None:
    path = make_media(tmp_path / f"v{suffix}", seconds=8, size="160x90", gop=50, vcodec=vcodec,
                      acodec="aac" if suffix == ".mp4" else "libopus")  # fmt: skip

    info, packets = probe.probe_with_packets(str(path), 3.0, 5.5)

    assert info == probe.probe(str(path))
    assert packets == probe.packets(str(path), 3.0, 5.5)
    assert packets[0].key and len(packets) > 50  # from the keyframe at 2 s, video only


def test_a_file_ffprobe_cannot_read_is_one_line_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")

    with pytest.raises(probe.CutError, match="ffprobe cannot read it") as raised:
        probe.probe_with_packets(str(broken), 0, 1)
    assert raised.value.path == str(broken)


def test_times_count_from_the_files_start_and_mpeg_ts_is_known_for_its_seeks() -> None:
    # An MPEG-TS recording: the file starts at 2.82 s, its picture at 2.845 s; a note's 0:20 is 20 s after 2.82.
    data = {"format": {"start_time": "2.823667", "format_name": "mpegts", "duration": "20"},
            "streams": [{"codec_type": "video", "start_time": "2.845000", "codec_name": "h264"},
                        {"codec_type": "audio", "start_time": "2.823667"}]}  # fmt: skip
    info = probe.media_info(data)
    assert (info.origin, info.video_start, info.seeks_exactly) == (2.823667, 2.845, False)
    data["format"] = {"start_time": "0.000000", "format_name": "matroska,webm", "duration": "20"}
    assert (probe.media_info(data).origin, probe.media_info(data).seeks_exactly) == (0.0, True)
