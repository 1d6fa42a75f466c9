"""HDR10 metadata (clipper.media.hdr): a first frame's side data -> the x265 parameters that write it again."""

from __future__ import annotations

import json

from clipper.media import hdr
from clipper.media.probe import MediaInfo

SIDE_DATA = {
    "frames": [
        {
            "side_data_list": [
                {
                    "side_data_type": "Mastering display metadata",
                    "red_x": "34000/50000",
                    "red_y": "16000/50000",
                    "green_x": "13250/50000",
                    "green_y": "34500/50000",
                    "blue_x": "7500/50000",
                    "blue_y": "3000/50000",
                    "white_point_x": "15635/50000",
                    "white_point_y": "16450/50000",
                    "min_luminance": "50/10000",
                    "max_luminance": "40000000/10000",
                },
                {"side_data_type": "Content light level metadata", "max_content": 1000, "max_average": 400},
                {"side_data_type": "H.26[45] User Data Unregistered SEI message"},
            ]
        }
    ]
}


def test_the_side_data_becomes_x265s_master_display_and_max_cll() -> None:
    assert hdr.parse_side_data(json.dumps(SIDE_DATA)) == (
        "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50)",
        "max-cll=1000,400",
        "hdr10=1",
    )


def test_a_frame_without_hdr_side_data_gives_no_parameters() -> None:
    assert hdr.parse_side_data('{"frames": [{}]}') == ()
    assert hdr.parse_side_data('{"frames": []}') == ()
    assert hdr.parse_side_data("not json") == ()
    broken = {"side_data_type": "Mastering display metadata", "red_x": "1/0"}
    assert hdr.x265_params([broken]) == ()


def test_only_pq_hevc_is_read() -> None:
    pq = MediaInfo(1.0, 1.0, 25.0, True, False, 1, video_codec="hevc", color=(("-color_trc", "smpte2084"),))
    assert hdr.wants_metadata(pq)
    assert not hdr.wants_metadata(MediaInfo(1.0, 1.0, 25.0, True, False, 1, video_codec="hevc"))
    assert not hdr.wants_metadata(MediaInfo(1.0, 1.0, 25.0, True, False, 1, video_codec="h264", color=pq.color))
