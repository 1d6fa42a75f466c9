"""ffmpeg: the audio around a clip's edges, decoded in one short run, as levels for finding pauses in speech.

Each range is its own input (a seek, then a few seconds decoded: never the whole video), turned to 16 kHz mono
with the hum and rumble under 100 Hz filtered out (they would hide a pause), and the ranges go side by side as the
channels of one raw stream. ``frame_levels`` turns those samples into the level of every 10 ms.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence

from clipper.core.errors import CutError, ToolError
from clipper.media.cut import seconds_arg
from clipper.media.probe import file_arg

RATE = 16000  # speech's energy, fricatives included, lies under 8 kHz
FRAME_SECONDS = 0.01
_QUIET = 1e-12  # a level's floor (digital silence is -120 dBFS, not minus infinity)


def edge_audio_argv(source: str, origin: float, ranges: Sequence[tuple[float, float]]) -> list[str]:
    """ffmpeg argv writing the audio of each (start, seconds) range of ``source`` (player times; ``origin`` is the
    timestamp of player time 0) to stdout: 16-bit samples at RATE, one channel per range (a shorter range is
    padded with silence to the longest)."""
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
    for start, seconds in ranges:
        argv += ["-seek_timestamp", "1", "-ss", seconds_arg(origin + start), "-t", seconds_arg(seconds),
                 "-i", file_arg(source)]  # fmt: skip
    mono = f"highpass=f=100,aresample={RATE},aformat=sample_fmts=s16:channel_layouts=mono,apad"
    chains = [f"[{index}:a:0]{mono}[e{index}]" for index in range(len(ranges))]
    joined = "".join(f"[e{index}]" for index in range(len(ranges)))
    graph = ";".join(chains) + (f";{joined}amerge=inputs={len(ranges)}[out]" if len(ranges) > 1 else "")
    output = "[out]" if len(ranges) > 1 else "[e0]"
    longest = max(seconds for _, seconds in ranges)
    return [*argv, "-filter_complex", graph, "-map", output, "-t", seconds_arg(longest), "-f", "s16le", "pipe:1"]


def frame_levels(pcm: bytes, seconds: Sequence[float]) -> list[tuple[float, ...]]:
    """The level (dBFS, RMS) of every FRAME_SECONDS of each channel of ``pcm`` (16-bit little-endian,
    interleaved, one channel per range), each channel cut to its range's ``seconds``."""
    channels = len(seconds)
    samples = memoryview(pcm[: len(pcm) - len(pcm) % (2 * channels)]).cast("h")
    size = round(RATE * FRAME_SECONDS)
    full_scale = 32768.0**2
    result = []
    for channel, length in enumerate(seconds):
        values = samples[channel::channels]
        count = min(len(values), round(length * RATE)) // size
        levels = []
        for frame in range(count):
            chunk = values[frame * size : (frame + 1) * size]
            power = sum(sample * sample for sample in chunk) / size
            levels.append(round(10 * math.log10(power / full_scale + _QUIET), 2))
        result.append(tuple(levels))
    return result


def read_levels(source: str, origin: float, ranges: Sequence[tuple[float, float]]) -> list[tuple[float, ...]]:
    """Run ``edge_audio_argv`` and measure its output (a few seconds of audio: a fraction of a second's work)."""
    argv = edge_audio_argv(source, origin, ranges)
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    except FileNotFoundError:
        raise ToolError("ffmpeg not found: install ffmpeg (e.g. apt-get install ffmpeg)") from None
    except subprocess.TimeoutExpired:
        raise CutError("reading the audio around the clip's edges took too long") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.decode(errors="replace").splitlines() if line.strip()]
        raise CutError(f"ffmpeg cannot read the audio: {lines[-1].strip() if lines else 'no message'}")
    return frame_levels(result.stdout, [seconds for _, seconds in ranges])
