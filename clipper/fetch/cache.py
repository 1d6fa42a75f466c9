"""The download cache: names of whole downloads (by source and format), finding, listing and cleaning them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def cache_key(source: str, fmt: str, format_sort: tuple[str, ...]) -> str:
    """Names a whole download by what it was fetched from and how (another format is another file)."""
    return hashlib.sha1("\0".join([source, fmt, *format_sort]).encode()).hexdigest()[:10]


MEDIA_EXTENSIONS = ("mp4", "mkv", "webm", "m4a", "mov", "mp3", "ogg", "opus")
# {video_id}-{10 hex digits}.{ext}[.part|.ytdl|...]: the names download_argv's template gives.
_CACHE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+-[0-9a-f]{10}\.")


def cached_download(cache_dir: Path, video_id: str, key: str) -> Path | None:
    """A finished whole download in the cache (yt-dlp's .part and per-format pieces do not count)."""
    for ext in MEDIA_EXTENSIONS:
        path = cache_dir / f"{video_id}-{key}.{ext}"
        if path.is_file():
            return path
    return None


def cache_entries(cache_dir: Path) -> list[Path]:
    """Everything clipper's downloads left in the cache: finished files and yt-dlp's partial ones."""
    if not cache_dir.is_dir():
        return []
    return sorted(path for path in cache_dir.iterdir() if path.is_file() and _CACHE_NAME_RE.match(path.name))


def clean_cache(cache_dir: Path) -> list[tuple[Path, int]]:
    """Delete the cache's downloads; returns (path, size) of what was removed. Other files are left alone."""
    removed = []
    for path in cache_entries(cache_dir):
        size = path.stat().st_size
        path.unlink()
        removed.append((path, size))
    return removed
