"""What a batch leaves in the output folder besides the clips: the manifest, and the gallery with its posters.

Every file here is written whole or not at all (a temporary name, then a rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any

from clipper.core.errors import ClipperError
from clipper.core.timecode import format_timestamp
from clipper.media import ffmpeg, smart_args
from clipper.plan.jobs import without_moment
from clipper.policy.clip_command import video_id_of
from clipper.run import gallery
from clipper.run.progress import Reporter
from clipper.run.steps import poster_time

if TYPE_CHECKING:
    from clipper.plan.jobs import ClipJob

MANIFEST_NAME = "manifest.json"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# The fields of a manifest entry (see ``runner.manifest_entry``) by type; each may also be null.
_TEXTS = ("status", "error", "video_id", "url", "source", "title", "mode", "fetch", "note", "video_title", "channel",
          "quote", "speaker", "moment_url", "upload_date")  # fmt: skip
_NUMBERS = ("start", "end", "note_start", "note_end", "duration")
_COUNTS = ("size", "line", "width", "height")
_RECORDS = ("file", "snap", "metadata", "settings", "loudness")
_LARGEST = 2.0**53  # past this a number is no time, size or count clipper wrote


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new one, never half of one.

    The temporary file is created new (``mkstemp``: an unpredictable name, never through a planted link), and
    the rename replaces a link at ``path`` itself rather than writing where it points."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:60]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            os.replace(temp, path)
        except OSError as error:  # a folder where the file goes: say its name, not the temporary one's
            raise OSError(error.errno, error.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_manifest(output_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((output_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
        return {}
    clips = data.get("clips") if isinstance(data, dict) else None
    return {str(k): v for k, v in clips.items() if isinstance(v, dict)} if isinstance(clips, dict) else {}


def other_clip(entry: Mapping[str, Any], job: ClipJob) -> str | None:
    """When the manifest ``entry`` under ``job``'s name records another clip (another video, or other times in
    the note), what that clip is (``note:line, video start-end``); else None. A clip is its video and its
    note's range: a file of the same length made for another note is not this clip."""
    if entry.get("status") not in ("done", "skipped"):
        return None
    video_id = entry.get("video_id")
    times = [entry.get(key) if isinstance(entry.get(key), (int, float)) else entry.get(fallback)
             for key, fallback in (("note_start", "start"), ("note_end", "end"))]  # fmt: skip
    same_times = all(isinstance(value, (int, float)) and abs(value - wanted) < 1e-6
                     for value, wanted in zip(times, (job.note_start, job.note_end), strict=True))  # fmt: skip
    if video_id == job.video_id and same_times:
        return None
    span = "-".join(format_timestamp(value) if isinstance(value, (int, float)) else "?" for value in times)
    return f"{entry.get('note')}:{entry.get('line')}, {video_id} {span}"


def _moment(url: str, video_id: str) -> tuple[str, str | None]:
    """What a moment URL names: its video (``video_id`` when the URL is that YouTube video's, in any spelling;
    else the URL without its ``t=``) and its ``t=`` value."""
    moment = re.search(r"[?&]t=([^&#]*)", url)
    video = video_id if video_id_of(url) == video_id else without_moment(url)
    return video, moment.group(1) if moment else None


def other_moment(tag: str | None, job: ClipJob, times_known: bool = True) -> str | None:
    """For a clip found under ``job``'s name with no manifest record: when its ``comment`` tag (where clipper
    writes the clip's moment URL) names another video or moment, that tag; else None. No tag tells nothing.
    ``times_known``: False while the clip's edges are still to snap (only the video is compared then)."""
    if not tag:
        return None
    (video, moment), (wanted_video, wanted_moment) = (_moment(url, job.video_id) for url in (tag, job.moment_url))
    same = video == wanted_video and (moment == wanted_moment or not times_known)
    return None if same else tag


def file_record(path: Path) -> dict[str, Any]:
    """What a finished clip is, as clipper wrote it: size, modification time and SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}


def unchanged(path: Path, record: Any) -> bool | None:
    """Whether ``path`` is still the file ``record`` describes: True, False, or None (no usable record)."""
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
        return None
    stat = path.stat()
    if stat.st_size != record.get("size"):
        return False
    if stat.st_mtime_ns == record.get("mtime_ns"):
        return True
    return file_record(path)["sha256"] == record["sha256"]  # touched, perhaps copied: same bytes?


def name_problem(output_dir: Path, name: Any) -> str | None:
    """Why ``name`` (a file name read from the manifest) is not a plain file in ``output_dir``: an absolute path,
    a drive, a folder, ``..``, a hidden name, or a link that leads out of the folder; None when it is one."""
    if not isinstance(name, str) or not name:
        return "is not a file name"
    if _CONTROL_RE.search(name):
        return "holds control characters"
    if "/" in name or "\\" in name:
        return "is a path, not a plain file name in the output folder"
    if ":" in name or PureWindowsPath(name).drive:
        return "names a drive or a stream (':'), not a plain file name"
    if name.startswith("."):
        return "is hidden or leads out of the folder ('.')"
    folder = output_dir.resolve()
    if (output_dir / name).resolve().parent != folder:
        return "is a link that leads out of the output folder"
    return None


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < _LARGEST
            and math.isfinite(value))  # fmt: skip


def field_problem(entry: Mapping[str, Any]) -> str | None:
    """Which field of a manifest entry holds a value of a type clipper never writes there (text, a number, a
    count, a list of tags, a record); None when each is of its type (or null)."""
    for key in _TEXTS:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            return f"its {key} is not text"
    for key in _NUMBERS:
        if entry.get(key) is not None and not _is_number(entry[key]):
            return f"its {key} is not a number"
    for key in _COUNTS:
        if entry.get(key) is not None and not (_is_number(entry[key]) and isinstance(entry[key], int)):
            return f"its {key} is not a whole number"
    tags = entry.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        return "its tags are not a list of text"
    for key in _RECORDS:
        if entry.get(key) is not None and not isinstance(entry[key], dict):
            return f"its {key} is not a record"
    record = entry.get("file") or {}
    if not all(record.get(key) is None or (isinstance(record[key], int) and not isinstance(record[key], bool))
               for key in ("size", "mtime_ns")) or not isinstance(record.get("sha256", ""), str):  # fmt: skip
        return "its file record is not sizes and a digest"
    return None


def entry_problem(output_dir: Path, name: str, entry: Any) -> str | None:
    """Why a manifest entry cannot be shown: it must be a mapping whose fields are of their types (see
    ``field_problem``), and every file it names (the clip, its captions; its poster is named after the clip, in
    posters/) a plain file in the output folder. None when it can."""
    if not isinstance(entry, dict):
        return "it is not a mapping of fields"
    if entry.get("output") != name:
        return f"its output {str(entry.get('output'))[:80]!r} is not its own name"
    problem = name_problem(output_dir, name)
    if problem is not None:
        return f"the clip's name {problem}"
    captions = entry.get("captions")
    if captions is None:
        return field_problem(entry)
    if not isinstance(captions, dict):
        return "its captions are not file names"
    for kind, caption in captions.items():
        problem = name_problem(output_dir, caption) if caption is not None else None
        if problem is not None:
            return f"its {str(kind)[:10]} captions' name {problem}"
    return field_problem(entry)


def usable_entries(output_dir: Path, manifest: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]],
                                                                             list[str]]:  # fmt: skip
    """The manifest's entries whose files are where clipper puts them, and one line per entry left out: the
    manifest is a file anyone who can write the folder can edit, and nothing outside the folder is read or
    written for it."""
    usable: dict[str, dict[str, Any]] = {}
    problems = []
    for name, entry in manifest.items():
        problem = entry_problem(output_dir, name, entry)
        if problem is None:
            usable[name] = entry
        else:
            problems.append(f"{output_dir / MANIFEST_NAME}: entry {name[:80]!r} skipped: {problem}")
    return usable, problems


def checked_manifest(output_dir: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The manifest's entries that can be shown (see ``usable_entries``), and one line per entry left out; one
    line for a manifest that is not JSON or not of clipper's shape. No manifest.json: nothing, no line."""
    path = output_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, []
    except OSError as error:
        return {}, [f"{path}: cannot be read ({error.strerror or error})"]
    except ValueError as error:  # not JSON, not UTF-8
        return {}, [f"{path}: is not a manifest clipper wrote ({str(error)[:80]})"]
    except RecursionError:
        return {}, [f"{path}: is not a manifest clipper wrote (nested too deep)"]
    clips = data.get("clips") if isinstance(data, dict) else None
    if not isinstance(clips, dict):
        return {}, [f"{path}: is not a manifest clipper wrote (no mapping of clips)"]
    return usable_entries(output_dir, clips)


def existing_clips(output_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Manifest entries of the clips that are made and still there, in manifest order; and the entries left
    out for naming files outside the folder or holding values of the wrong type (one line each)."""
    manifest, problems = checked_manifest(output_dir)
    entries = [entry for name, entry in manifest.items()
               if entry.get("status") in ("done", "skipped") and (output_dir / name).is_file()]  # fmt: skip
    return entries, problems


def make_poster(output_dir: Path, name: str, duration: float, made: Path | None = None) -> str | None:
    """The clip's poster frame (a JPEG in posters/), made unless a newer one is there; why not, or None.

    ``made``: a poster frame already taken (by the run that cut the clip): it is moved into place."""
    clip = output_dir / name
    poster = output_dir / gallery.poster_name(name)
    if poster.parent.is_symlink():  # before anything is looked at in it
        return f"{poster.parent} is a symbolic link: clipper will not write through it (remove it)"
    # A poster that is a link is made again: the new one replaces the link, never what it points to.
    if made is None and not poster.is_symlink() and poster.exists() and poster.stat().st_mtime >= clip.stat().st_mtime:
        return None
    poster.parent.mkdir(exist_ok=True)
    temp = poster.with_name(f".{secrets.token_hex(8)}.jpg.part")  # unpredictable: nothing planted there
    try:
        if made is not None and made.is_file() and not made.is_symlink():
            os.replace(made, temp)  # same folder tree; then into place like a fresh one
            os.utime(temp)  # taken before the clip was joined: dated now, so it is not taken again
        else:
            ffmpeg.run_ffmpeg(smart_args.poster_argv(str(clip), poster_time(duration), str(temp)))
        os.replace(temp, poster)
    except ClipperError as error:
        return error.message
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return None


def _cues(output_dir: Path, entry: dict[str, Any]) -> list[tuple[float, float, str]]:
    """A clip's captions from its .vtt file, as (start, end, text) for the page."""
    captions = entry.get("captions")
    if not isinstance(captions, dict) or not captions.get("vtt"):
        return []
    import pysubs2

    try:
        subtitles = pysubs2.load(str(output_dir / str(captions["vtt"])), encoding="utf-8")
    except (OSError, ValueError, pysubs2.exceptions.Pysubs2Error):
        return []
    return [(event.start / 1000, event.end / 1000, event.plaintext) for event in subtitles]


def build_gallery(output_dir: Path, reporter: Reporter | None = None) -> tuple[Path, list[str]]:
    """Write index.html and index.md for the clips in ``output_dir`` (posters made as needed); return the page,
    and one line per manifest entry left out (see ``usable_entries``)."""
    entries, problems = existing_clips(output_dir)
    posters: dict[str, str] = {}
    for entry in entries:
        name = str(entry["output"])
        duration = entry["duration"] if isinstance(entry.get("duration"), (int, float)) else 3.0
        problem = make_poster(output_dir, name, duration)
        if problem is not None:
            if reporter is not None:
                reporter.message(f"{name}: no poster ({problem})")
            continue
        posters[name] = gallery.poster_name(name)
    page = output_dir / "index.html"
    write_text_atomic(
        page, gallery.gallery_html(entries, posters, {str(e["output"]): _cues(output_dir, e) for e in entries})
    )
    write_text_atomic(output_dir / "index.md", gallery.gallery_markdown(entries))
    return page, problems
