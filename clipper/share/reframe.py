"""Share formats (pure): the ffmpeg video filter that gives a clip another shape (9:16, 1:1, ...).

``crop``: the part of the picture of the new shape, centred (or around ``crop_x``, a fraction of the width, for a
speaker who sits off-centre), at the source's own resolution. ``blur``/``black``: the whole picture, scaled to fit,
over a blurred copy of itself (or black bars), on a canvas whose long side is the source's long side.

Every size is an ffmpeg expression of the input's own (``iw``, ``ih``), so the filter is the same whether or not the
source was probed (a dry run of a URL): what is printed is what runs. Sizes are even (4:2:0 chroma) and pixels
square (an anamorphic source is first scaled to square pixels).
"""

from __future__ import annotations

from fractions import Fraction

# The captions' canvas (ASS PlayRes): the new shape with its short side this long; libass scales it to the frame.
CANVAS_SHORT_SIDE = 1080


def _even(expression: str) -> str:
    return f"trunc({expression}/2)*2"


def _ratio(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _shape_crop(width: int, height: int, x: str, y: str) -> str:
    """The largest part of the input of shape width:height, at (x, y)."""
    return (f"crop=w='min(iw,{_even(f'ih*{width}/{height}')})':h='min(ih,{_even(f'iw*{height}/{width}')})'"
            f":x='{x}':y='{y}'")  # fmt: skip


def video_filter(aspect: tuple[int, int], pad: str = "none", crop_x: float = 0.5) -> str:
    """The filter (one ``-vf`` chain) that gives the picture the shape ``aspect``; see the module's docstring."""
    width, height = aspect
    square = "scale=w='trunc(iw*sar/2)*2':h=ih,setsar=1"
    if pad == "none":
        # The crop's centre at crop_x of the width, kept inside the picture; vertically centred.
        centre = f"{crop_x:.4f}".rstrip("0").rstrip(".")
        crop = _shape_crop(width, height, f"max(0,min(iw-ow,iw*{centre}-ow/2))", "(ih-oh)/2")
        return f"{square},{crop},setsar=1"
    shape = Fraction(width, height)
    # The canvas: the source's long side, the other side from the shape.
    canvas_w = _even(f"max(iw,ih)*{_ratio(min(Fraction(1), shape))}")
    canvas_h = _even(f"max(iw,ih)*{_ratio(min(Fraction(1), 1 / shape))}")
    fit = f"scale=w='{canvas_w}':h='{canvas_h}':force_original_aspect_ratio=decrease:force_divisible_by=2"
    # The background covers the canvas (scaled up, then the middle of it): exactly one side fits, so cropping it to
    # the shape gives the canvas (a pad filter would measure the canvas from the fitted picture, not the source).
    cover = f"scale=w='{canvas_w}':h='{canvas_h}':force_original_aspect_ratio=increase"
    fill = "boxblur=luma_radius='min(w,h)/16':luma_power=2,eq=brightness=-0.06" if pad == "blur" else \
        "drawbox=color=black:thickness=fill"  # fmt: skip
    background = f"{cover},{_shape_crop(width, height, '(iw-ow)/2', '(ih-oh)/2')},{fill}"
    return (
        f"{square},split[whole][copy];[copy]{background}[back];[whole]{fit}[front];"
        "[back][front]overlay=x='(W-w)/2':y='(H-h)/2',setsar=1"
    )


def canvas(aspect: tuple[int, int]) -> tuple[int, int]:
    """The captions' canvas for a shape: its short side CANVAS_SHORT_SIDE (9:16 -> 1080x1920), sides even."""
    width, height = aspect
    if width <= height:
        return CANVAS_SHORT_SIDE, round(CANVAS_SHORT_SIDE * height / width / 2) * 2
    return round(CANVAS_SHORT_SIDE * width / height / 2) * 2, CANVAS_SHORT_SIDE


def has_shape(width: int | None, height: int | None, aspect: tuple[int, int]) -> bool:
    """Whether a picture of width x height is already of the shape (within the 2 pixels even sizes round to)."""
    if not width or not height:
        return False
    return abs(width * aspect[1] / aspect[0] - height) <= 2


def describe(aspect: tuple[int, int], pad: str = "none", crop_x: float = 0.5) -> str:
    """What the filter does, for the log and the dry run."""
    shape = f"{aspect[0]}:{aspect[1]}"
    if pad == "blur":
        return f"the whole picture on a {shape} blurred copy of itself"
    if pad == "black":
        return f"the whole picture on a {shape} black canvas"
    return f"cropped to {shape}" + ("" if crop_x == 0.5 else f" around {crop_x:g} of the width")
