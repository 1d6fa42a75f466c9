"""What a batch leaves in the output folder besides the clips: the manifest, and the gallery with its posters.

Every file here is written whole or not at all (a temporary name, then a rename).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from clipper import cut, gallery
from clipper.errors import ClipperError
from clipper.progress import Reporter
from clipper.steps import poster_time

MANIFEST_NAME = "manifest.json"


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new one, never half of one.

    The temporary file is created new (``mkstemp``: an unpredictable name, never through a planted link), and
    the rename replaces a link at ``path`` itself rather than writing where it points."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:60]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_manifest(output_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((output_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    clips = data.get("clips") if isinstance(data, dict) else None
    return {str(k): v for k, v in clips.items() if isinstance(v, dict)} if isinstance(clips, dict) else {}


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


def existing_clips(output_dir: Path) -> list[dict[str, Any]]:
    """Manifest entries of the clips that are made and still there, in manifest order."""
    manifest = read_manifest(output_dir)
    return [entry for name, entry in manifest.items()
            if entry.get("status") in ("done", "skipped") and (output_dir / name).is_file()]  # fmt: skip


def make_poster(output_dir: Path, name: str, duration: float, made: Path | None = None) -> str | None:
    """The clip's poster frame (a JPEG in posters/), made unless a newer one is there; why not, or None.

    ``made``: a poster frame already taken (by the run that cut the clip): it is moved into place."""
    clip = output_dir / name
    poster = output_dir / gallery.poster_name(name)
    if made is None and poster.exists() and poster.stat().st_mtime >= clip.stat().st_mtime:
        return None
    poster.parent.mkdir(exist_ok=True)
    if poster.parent.is_symlink():
        return f"{poster.parent} is a symbolic link: clipper will not write through it (remove it)"
    temp = poster.with_name(f".{secrets.token_hex(8)}.jpg.part")  # unpredictable: nothing planted there
    try:
        if made is not None and made.is_file() and not made.is_symlink():
            os.replace(made, temp)  # same folder tree; then into place like a fresh one
            os.utime(temp)  # taken before the clip was joined: dated now, so it is not taken again
        else:
            cut.run_ffmpeg(cut.poster_argv(str(clip), poster_time(duration), str(temp)))
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


def build_gallery(output_dir: Path, reporter: Reporter | None = None) -> Path:
    """Write index.html and index.md for the clips in ``output_dir`` (posters made as needed); return the page."""
    entries = existing_clips(output_dir)
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
    return page
