"""HDR10 static metadata: the mastering display and content light level a source's first frame carries, read with
ffprobe, and given to the encoder of a smart cut's re-encoded pieces so the clip carries them from frame 0.

A PQ (SMPTE ST 2084) stream describes the display it was graded on and its brightest pixel and frame in SEI
messages (HEVC, H.264) beside its colour description. The colour description reaches an encoder through ffmpeg's
options, these two do not (ffmpeg 5.1's libx265 takes them only as x265 parameters): a head encoded without
them starts the clip with none, and players tone-map its first GOP differently, or treat it as SDR.
"""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from typing import Any

from clipper.media.probe import MediaInfo, file_arg, optional_output

PQ = "smpte2084"
MASTERING = "Mastering display metadata"
LIGHT = "Content light level metadata"
_CHROMA_UNIT = 50000  # x265's and x264's master-display: chromaticities in 0.00002, luminance in 0.0001 cd/m2
_LUMA_UNIT = 10000


def wants_metadata(info: MediaInfo) -> bool:
    """Whether a source may carry HDR10 metadata worth reading: PQ video of a codec whose heads can carry it."""
    return info.video_codec == "hevc" and ("-color_trc", PQ) in info.color


def side_data_argv(path: str) -> list[str]:
    """ffprobe argv: the side data of the first video frame (one frame decoded)."""
    return ["ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_frames",
            "-show_entries", "frame=side_data_list", "-of", "json", file_arg(path)]  # fmt: skip


def _units(value: Any, unit: int) -> int:
    """ffprobe's '34000/50000' (or a plain number) in ``unit``ths, as the encoders' parameters count."""
    return round(Fraction(str(value)) * unit)


def x265_params(side_data: list[dict[str, Any]]) -> tuple[str, ...]:
    """The x265 parameters that write the same HDR10 SEI messages as the frame's side data (none without it)."""
    params: list[str] = []
    for item in side_data:
        kind = item.get("side_data_type")
        try:
            if kind == MASTERING:
                points = "".join(f"{label}({_units(item[name + '_x'], _CHROMA_UNIT)},"
                                 f"{_units(item[name + '_y'], _CHROMA_UNIT)})"
                                 for label, name in (("G", "green"), ("B", "blue"), ("R", "red"),
                                                     ("WP", "white_point")))  # fmt: skip
                brightest, darkest = (_units(item[key], _LUMA_UNIT) for key in ("max_luminance", "min_luminance"))
                params.append(f"master-display={points}L({brightest},{darkest})")
            elif kind == LIGHT and "max_content" in item and "max_average" in item:
                params.append(f"max-cll={int(item['max_content'])},{int(item['max_average'])}")
        except (KeyError, ValueError, ZeroDivisionError):  # a value ffprobe could not read: leave it out
            continue
    return (*params, "hdr10=1") if params else ()


def parse_side_data(text: str) -> tuple[str, ...]:
    """``side_data_argv``'s JSON -> ``x265_params`` of the first frame."""
    try:
        frames = json.loads(text or "{}").get("frames") or []
    except json.JSONDecodeError:
        return ()
    return x265_params(frames[0].get("side_data_list") or []) if frames else ()


def with_metadata(info: MediaInfo, path: str) -> MediaInfo:
    """``info`` with the HDR10 metadata of ``path``'s first frame (``MediaInfo.hdr10``) when it is PQ video; a
    source ffprobe cannot read here keeps none (its clip is then cut as before)."""
    if not wants_metadata(info):
        return info
    found = optional_output(side_data_argv(path))
    return info if found is None else replace(info, hdr10=parse_side_data(found))
