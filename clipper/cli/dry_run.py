"""The dry run (pure): the commands a batch runs, as a shell script that runs as printed.

Every value is quoted; note text shows only in comments (escaped) and quoted arguments. For URLs the media URL is
a shell variable that the yt-dlp line fills; a measuring step's values (loudness) are variables its output fills.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import replace

from clipper.core.errors import ClipperError
from clipper.core.streams import MediaStream
from clipper.core.text import printable
from clipper.core.timecode import format_timestamp
from clipper.media.probe import file_arg, packets_argv
from clipper.media.refresh import WHOLE
from clipper.plan.config import Config, parse_aspect
from clipper.plan.jobs import ClipJob
from clipper.run.paths import caption_paths, final_path, remux_path, section_path, temp_path
from clipper.run.steps import PIECE_PHASES, LocalMedia, Step, clip_steps, packet_window, remux_step, section_step
from clipper.run.videos import VideoJobs, download_command, full_target, resolve_command
from clipper.share import loudness, pauses, reframe
from clipper.share.captions import to_srt, to_vtt

MEDIA_PLACEHOLDER = "$MEDIA_URL"
AUDIO_PLACEHOLDER = "$AUDIO_URL"
FILE_PLACEHOLDER = "$MEDIA_FILE"
SECTION_PLACEHOLDER = "$SECTION"
_PLACEHOLDERS = (MEDIA_PLACEHOLDER, AUDIO_PLACEHOLDER, FILE_PLACEHOLDER, SECTION_PLACEHOLDER)
# Where ffmpeg cannot read a section from the host it fails (-xerror: else a read it cannot make ends the copy
# early and ffmpeg still exits 0) and the script downloads the video whole instead.
_WHOLE_DOWNLOAD = "download_whole"


def _word(arg: str) -> str:
    return f'"{arg}"' if arg in _PLACEHOLDERS else shlex.quote(arg)


def shell_join(argv: Sequence[str]) -> str:
    """Shell-quote an argv for printing; the dry run's placeholders stay shell variables."""
    return " ".join(_word(arg) for arg in argv)


def comment(text: str) -> str:
    """A comment line of the script: one line whatever the text holds (newlines and controls escaped)."""
    return "# " + printable(text)


def describe(job: ClipJob) -> list[str]:
    """The comments that introduce a clip: its range (the clip's own) and, once snapped, the note's and why."""
    lines = [comment(f"{job.output}: {job.video_id} {format_timestamp(job.start)}-{format_timestamp(job.end)}"
                     f" ({job.note}:{job.line})")]  # fmt: skip
    if job.note_range is not None:
        lines.append(comment(f"snapped to the speech (the note's {format_timestamp(job.note_start)}-"
                             f"{format_timestamp(job.note_end)}): {pauses.summary(job)}"))  # fmt: skip
    return lines


def script_line(argv: Sequence[str], fill: int | None = None) -> str:
    """A command of the script: every value quoted, without the progress output only clipper reads; the
    argument ``fill`` (a measuring step's values) in double quotes, so the script's variables fill it."""
    words = [loudness.shell_word(arg) if index == fill else _word(arg) for index, arg in enumerate(argv)]
    if "-progress" in argv:
        at = list(argv).index("-progress")
        del words[at : at + 2]
    return " ".join(words)


def settings_comment(config: Config) -> str | None:
    """The share-ready settings in effect, for the script's head (None when there are none)."""
    parts = []
    if config.snap == "speech":
        parts.append(f"edges snap to pauses in the speech (within {config.snap_window:g}s)")
    shape = parse_aspect(config.aspect)
    if shape is not None:
        parts.append(reframe.describe(shape, config.pad, config.crop_x))
    if config.loudnorm is not None:
        parts.append(f"loudness {config.loudnorm:g} LUFS (two passes)")
    if not parts:
        return None
    return comment(("preset " + config.preset + ": " if config.preset else "") + "; ".join(parts))


def dry_run_lines(videos: Sequence[VideoJobs], config: Config, runtime: tuple[str, str] | None,
                  local_media: LocalMedia) -> list[str]:  # fmt: skip
    """The commands a batch runs, as a shell script.

    For local files ``local_media`` holds what ffprobe read (dry runs may read, never write), so every
    command is exact. For URLs the media URL is a shell variable that the yt-dlp line fills, and the smart
    cut's pieces depend on the keyframes the fetched section holds, so the ffprobe that lists them is shown.
    """
    lines: list[str] = ["set -eu", comment(f"mode {config.mode}; clips go to {config.output_dir}")]
    settings = settings_comment(config)
    if settings:
        lines.append(settings)
    lines.append(shell_join(["mkdir", "-p", "--", str(config.output_dir)]))
    if any(video.strategy == "full" for video in videos):
        lines.append(shell_join(["mkdir", "-p", "--", str(config.cache_dir)]))
    for video in videos:
        lines.append(comment(f"video {video.video_id}: {video.strategy} ({video.reason})"))
        if video.strategy == "local" and video.source in local_media and not local_media[video.source][0].seeks_exactly:
            remuxed = remux_path(video, config)
            lines.append(comment("MPEG-TS has no index to seek by: copied into MP4 to cut from"))
            lines.append(script_line(remux_step(video.source, remuxed, 0.0).argv))
            for job in video.jobs:
                lines += describe(job)
                lines += _url_clip_lines(job, config, str(remuxed))
            lines.append(shell_join(["rm", "--", str(remuxed)]))
            continue
        if video.strategy == "local":
            info, packets, refreshes = local_media.get(video.source, (None, {}, {}))
            for job in video.jobs:
                lines += describe(job)
                origin = info.origin if info else 0.0
                try:
                    made = clip_steps(job, config, video.source, origin, info, packets.get(job),
                                          refresh=refreshes.get(job, WHOLE))  # fmt: skip
                except ClipperError as error:
                    lines.append(comment(f"cannot be cut: {error.message}"))
                    continue
                lines += [comment(note) for note in made.notes]
                lines += _step_lines(made.steps, job, config)
            continue
        if config.snap == "speech":
            lines.append(comment("clipper snaps the edges to pauses in the speech once the media is fetched (it reads "
                                 "the audio around each edge): the times below are the note's"))  # fmt: skip
        if video.strategy == "full":
            prefix = full_target(video, config).replace(".%(ext)s", "")
            lines.append("# one whole download into the cache, reused by later runs:")
            lines.append(shell_join(download_command(video, config, runtime)))
            lines.append(f"set -- {shlex.quote(prefix)}.*; MEDIA_FILE=$1")
            for job in video.jobs:
                lines += describe(job)
                lines += _url_clip_lines(job, config, FILE_PLACEHOLDER)
            continue
        lines += _section_lines(video, config, runtime)
    return lines


def _section_lines(video: VideoJobs, config: Config, runtime: tuple[str, str] | None) -> list[str]:
    """A video fetched in sections: ffmpeg reads each section from the host, seeking in it with Range requests.

    A host without Range support can only be read from its start, and an MP4 whose index (moov) is at its end
    cannot be read so: then the section's ffmpeg fails and the script downloads the video whole, once, into the
    cache (as ``fetch: full`` does; yt-dlp needs no Range for it), and cuts this and every later clip from it.
    """
    prefix = full_target(video, config).replace(".%(ext)s", "")
    lines = [
        "# the media URLs: yt-dlp prints one line per stream (video, and audio when the host serves it apart)",
        "URLS=$(" + shell_join(resolve_command(video, config, runtime)) + ")",
        "MEDIA_URL=$(printf '%s\\n' \"$URLS\" | sed -n 1p); AUDIO_URL=$(printf '%s\\n' \"$URLS\" | sed -n 2p)",
    ]
    if config.http_chunk_size:
        lines.append(comment(f"clipper itself has ffmpeg read the media through its relay on 127.0.0.1, in requests"
                             f" of at most {config.http_chunk_size} bytes made with yt-dlp's networking (cookies,"
                             " proxy); here ffmpeg reads the host directly"))  # fmt: skip
    lines += [comment("ffmpeg seeks in the host's file with Range requests; where it cannot read a section (a host"
                      " without Range support serving an MP4 whose index is at its end), the video is downloaded"
                      " whole, once, into the cache and the clips are cut from that file"),
              "MEDIA_FILE=",
              f"{_WHOLE_DOWNLOAD}() {{ {shell_join(['mkdir', '-p', '--', str(config.cache_dir)])}; "
              f"{shell_join(download_command(video, config, runtime))}; "
              f"set -- {shlex.quote(prefix)}.*; MEDIA_FILE=$1; SECTION=file:$1; }}"]  # fmt: skip
    one = [MediaStream(MEDIA_PLACEHOLDER)]
    apart = [MediaStream(MEDIA_PLACEHOLDER, has_audio=False), MediaStream(AUDIO_PLACEHOLDER, has_video=False)]
    for section in video.sections:
        path = section_path(video, section, config)
        lines += [comment(f"section {format_timestamp(section.start)}-{format_timestamp(section.end)}"),
                  f"SECTION={shlex.quote(file_arg(str(path)))}",
                  'if [ -n "$MEDIA_FILE" ]; then SECTION=file:$MEDIA_FILE',
                  'elif [ -n "$AUDIO_URL" ]; then ' + _failing(section_step(apart, section, path).argv),
                  "else " + _failing(section_step(one, section, path).argv) + "; fi"]  # fmt: skip
        for job in section.jobs:
            lines += describe(job)
            lines += _url_clip_lines(job, config, SECTION_PLACEHOLDER, origin=0.0)
        lines.append(shell_join(["rm", "-f", "--", str(path)]))
    return lines


def _failing(argv: Sequence[str]) -> str:
    """A section's ffmpeg that fails when it cannot read the host, then the whole download."""
    return script_line([argv[0], "-xerror", *argv[1:]]) + f" || {_WHOLE_DOWNLOAD}"


def _url_clip_lines(job: ClipJob, config: Config, media: str, origin: float = 0.0) -> list[str]:
    """A clip cut from fetched media. A smart cut's pieces depend on the keyframes the media holds, known only
    once it is fetched: the script re-encodes the clip instead (frame-exact too), and says how clipper cuts it."""
    lines = []
    if config.mode == "smart":
        start, end = packet_window(job, origin)
        lines += [comment("clipper smart-cuts this clip: the keyframes that these packets show decide what is"
                          " re-encoded and what is copied (run clipper with -v to see its commands):"),
                  comment(shell_join(packets_argv(media, start, end))),
                  comment("this script re-encodes the clip instead:")]  # fmt: skip
        config = replace(config, mode="reencode")
    made = clip_steps(job, config, media, origin, None, None)
    lines += [comment(note) for note in made.notes]
    return [*lines, *_step_lines(made.steps, job, config)]


def _step_lines(steps: Sequence[Step], job: ClipJob, config: Config) -> list[str]:
    lines = []
    for step in steps:
        for path, text in step.files:
            lines.append(write_file_line(path, text))
        if step.phase == "measure":  # its report fills the next step's values
            target = config.loudnorm if config.loudnorm is not None else 0.0
            lines += loudness.script_lines(script_line(step.argv), target)
            continue
        command = script_line(step.argv, step.fill)
        lines.append(f"(cd {shlex.quote(step.cwd)} && {command})" if step.cwd else command)
    lines.append(shell_join(["mv", "--", str(temp_path(job, config)), str(final_path(job, config))]))
    pieces = [output for step in steps if step.phase in PIECE_PHASES for output in step.outputs]
    pieces += [path for step in steps for path, _ in step.files]
    if pieces:
        lines.append(shell_join(["rm", "--", *pieces]))
    return [*lines, *_caption_lines(job, config)]


def _caption_lines(job: ClipJob, config: Config) -> list[str]:
    """The clip's sidecar captions, as the run writes them."""
    if config.captions == "off" or not job.captions:
        return []
    srt, vtt = caption_paths(job, config)
    return [write_file_line(str(srt), to_srt(job.captions)), write_file_line(str(vtt), to_vtt(job.captions))]


def write_file_line(path: str, text: str) -> str:
    """One script line that writes ``text`` to ``path``: printf repeats its format for each line given."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return shell_join(["printf", "%s\\n", *parts]) + " > " + shlex.quote(path)
