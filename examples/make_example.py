#!/usr/bin/env python3
"""Make examples/clipper-example.mp4, the video of the example note examples/clipper-example.md.

A talk of 77 seconds: espeak-ng reads the paragraphs of TALK below, each from the time the note's transcript
gives it, over a moving picture made with ffmpeg's lavfi sources (a slowly turning gradient, a test pattern
with its clock where a speaker would be, the paragraph being read as text). H.264 and AAC in MP4 with its index
at the front (faststart), a keyframe every 2 seconds, 640x360, 25 fps, 1.8 MB.

The video is committed with the note: running clipper on examples/ needs neither this script nor espeak-ng.
Run it again (from anywhere) after changing the talk, and change the note's transcript to match:

    python3 examples/make_example.py [-o examples/clipper-example.mp4]

Needs Python 3.10+, ffmpeg and espeak-ng (apt-get install ffmpeg espeak-ng). ffmpeg's drawtext filter (built
with freetype and fontconfig, as Debian's is) draws the words; without it the picture has none. The same
ffmpeg and espeak-ng make the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "clipper-example.mp4"
TITLE = "clipper: an example talk"
# (start in seconds, what is said): the note's ## Transcript has the same lines at the same times.
# fmt: off
TALK = (
    (0, "Hello, and welcome to the clipper example. This short talk was made by a script, so that clipper "
        "has a video to cut on a machine with no network."),
    (12, "Clipper reads notes written in markdown. A note names a video and its highlights. Each highlight "
         "has a title, a quote, and a clip command with a time range."),
    (25, "Here is the first thing to know. A note is untrusted text, and clipper never runs it. It reads the "
         "clip command, checks every option against a short list, and refuses the rest."),
    (39, "The second thing is about cutting. Clipper cuts on the exact frame. It encodes again only the frames "
         "up to the first keyframe, and copies the rest, bit for bit."),
    (52, "The third thing is about sharing. Each clip gets captions from the transcript, tags from its quote, "
         "and a place on a gallery page that you can open in a browser."),
    (65, "That is all. Run clipper batch on the examples folder, and you will find these clips in the clips "
         "folder. Thank you for listening."),
)
# fmt: on
END = 77  # seconds
GAP = 0.4  # at least this much silence before the next paragraph starts
SIZE, RATE, GOP = "640x360", 25, 50
VOICE = ["-v", "en-us", "-s", "150"]  # espeak-ng's American English voice, 150 words a minute
RATE_HZ = 48000


def speak(text: str, wav: Path) -> None:
    """espeak-ng reads ``text`` into ``wav``."""
    subprocess.run(["espeak-ng", *VOICE, "-w", str(wav), text], check=True)


def soundtrack(folder: Path) -> Path:
    """One WAV of END seconds: each paragraph spoken from its start, silence between."""
    frames: list[bytes] = []
    params = None
    for index, (start, text) in enumerate(TALK):
        wav = folder / f"paragraph{index}.wav"
        speak(text, wav)
        with wave.open(str(wav), "rb") as reader:
            params = params or reader.getparams()
            if reader.getparams()[:3] != params[:3]:
                raise SystemExit(f"espeak-ng wrote {wav.name} in another format")
            spoken = reader.readframes(reader.getnframes())
        rate, width = params.framerate, params.sampwidth * params.nchannels
        written = sum(len(chunk) for chunk in frames) // width
        frames.append(b"\0" * (round(start * rate) - written) * width)
        frames.append(spoken)
        ends = start + len(spoken) / width / rate
        following = TALK[index + 1][0] if index + 1 < len(TALK) else END
        if ends > following - GAP:
            raise SystemExit(f"paragraph {index} ends at {ends:.2f}s, too close to {following}s: move the times")
        print(f"{start:5.1f}-{ends:5.2f}s  {text[:60]}...", file=sys.stderr)
    assert params is not None
    width = params.sampwidth * params.nchannels
    written = sum(len(chunk) for chunk in frames) // width
    frames.append(b"\0" * (END * params.framerate - written) * width)
    track = folder / "talk.wav"
    with wave.open(str(track), "wb") as writer:
        writer.setparams(params)
        writer.writeframes(b"".join(frames))
    return track


def has_drawtext() -> bool:
    filters = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True, check=True)
    return any(line.split()[1:2] == ["drawtext"] for line in filters.stdout.splitlines() if line.strip())


def picture(folder: Path, words: bool) -> str:
    """The filter graph of the picture, ending in [picture]; its texts are files in ``folder``."""
    graph = [
        f"gradients=s={SIZE}:r={RATE}:d={END}:c0=0x14213d:c1=0x4a1d6a:speed=0.015:seed=7[background]",
        f"testsrc2=s=224x126:r={RATE}:d={END}[pattern]",
        "[background][pattern]overlay=x=392:y=24:shortest=1[v0]",
    ]
    if not words:
        return ";".join(graph).replace("[v0]", "[picture]")
    text = "font=Sans:fontcolor=white"
    (folder / "title.txt").write_text(TITLE, encoding="utf-8")
    graph.append(f"[v0]drawtext=textfile=title.txt:{text}:fontsize=24:x=24:y=28[v1]")
    for index, (start, said) in enumerate(TALK):
        (folder / f"paragraph{index}.txt").write_text(textwrap.fill(said, 46), encoding="utf-8")
        until = TALK[index + 1][0] if index + 1 < len(TALK) else END
        graph.append(f"[v{index + 1}]drawtext=textfile=paragraph{index}.txt:{text}:fontsize=20:line_spacing=8"
                     f":x=24:y=170:enable='between(t,{start},{until})'[v{index + 2}]")  # fmt: skip
    return ";".join(graph).removesuffix(f"[v{len(TALK) + 1}]") + "[picture]"


def make(output: Path) -> None:
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (apt-get install ffmpeg espeak-ng)")
    words = has_drawtext()
    if not words:
        print("this ffmpeg has no drawtext filter: the picture gets no words", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="clipper-example-") as temp:
        folder = Path(temp)
        track = soundtrack(folder)
        made = folder / "talk.mp4"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", track.name,
             "-filter_complex", picture(folder, words), "-map", "[picture]", "-map", "0:a",
             "-c:v", "libx264", "-preset", "slow", "-crf", "33", "-g", str(GOP), "-keyint_min", str(GOP),
             "-x264-params", "scenecut=0", "-pix_fmt", "yuv420p", "-profile:v", "high",
             "-c:a", "aac", "-b:a", "48k", "-ar", str(RATE_HZ), "-ac", "1", "-t", str(END),
             "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
             "-movflags", "+faststart", made.name],
            cwd=folder, check=True,
        )  # fmt: skip
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made, output)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    print(f"{output}: {output.stat().st_size} bytes, sha256 {digest}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the example talk for examples/clipper-example.md.")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT, help=f"where to write it (default: {OUTPUT})")
    make(parser.parse_args(argv).output.absolute())
    return 0


if __name__ == "__main__":
    sys.exit(main())
