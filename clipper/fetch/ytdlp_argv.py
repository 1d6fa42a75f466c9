"""The yt-dlp command lines clipper builds: format lookup, whole downloads and the relay's session.

Commands are data: these argv are what ``--dry-run`` prints, and yt-dlp's own parser reads exactly them
(``youtubedl.hardened_options``) to run in-process, never in a shell. Every argv is hardened: no config
files, no plugins, the URL after ``--``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

HARDENING = ("--ignore-config", "--no-plugin-dirs", "--no-playlist")


def js_runtime() -> tuple[str, str] | None:
    """The JavaScript runtime yt-dlp should use for YouTube: the ``deno`` package, else deno or node on PATH."""
    try:
        import deno  # type: ignore[import-not-found,import-untyped,unused-ignore]

        path = deno.find_deno_bin()
        if path and os.path.exists(path):
            return ("deno", str(path))
    except (ImportError, OSError, RuntimeError):
        pass
    for name in ("deno", "node"):
        found = shutil.which(name)
        if found and (name == "deno" or _node_major(found) >= 20):
            return (name, found)
    return None


def _node_major(path: str) -> int:
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def runtime_args(runtime: tuple[str, str] | None) -> list[str]:
    if runtime is None:
        return []
    name, path = runtime
    return ["--no-js-runtimes", "--js-runtimes", f"{name}:{path}"]


def resolve_argv(url: str, fmt: str, format_sort: tuple[str, ...], runtime: tuple[str, str] | None = None,
                 user_args: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """The yt-dlp command that finds the media URLs of ``url`` for the chosen format.

    ``user_args`` are the user's own (checked) yt-dlp options: cookies, proxy, impersonation and the like.
    """
    argv = ["yt-dlp", *HARDENING, *runtime_args(runtime), *user_args, "-f", fmt]
    if format_sort:
        argv += ["-S", ",".join(format_sort)]
    return [*argv, "--get-url", "--", url]


def session_argv(runtime: tuple[str, str] | None = None, user_args: Sequence[str] = ()) -> list[str]:
    """The yt-dlp options media requests are made with (``YoutubeDL.urlopen``): the user's network options."""
    return ["yt-dlp", *HARDENING, *runtime_args(runtime), *user_args, "--", "-"]


def download_argv(url: str, fmt: str, format_sort: tuple[str, ...], target: str,
                  runtime: tuple[str, str] | None = None, user_args: Sequence[str] = (),
                  chunk_size: int = 0, public_only: bool = False) -> list[str]:  # fmt: skip
    """The yt-dlp command that downloads the whole video once (native downloader) to ``target``, asking
    for at most ``chunk_size`` bytes a request (0: as the host's format says). ``public_only``: a note's URL,
    whose fragments come one at a time (each connection is checked in the thread that asks for it)."""
    # A fragment the host will not give (an expired URL) fails the download, where yt-dlp would skip it and
    # keep a file that ends early; the next attempt looks the video up again and resumes.
    argv = ["yt-dlp", *HARDENING, *runtime_args(runtime), *user_args, "--abort-on-unavailable-fragments", "-f", fmt]
    if public_only:
        argv += ["--concurrent-fragments", "1"]
    if chunk_size:
        argv += ["--http-chunk-size", str(chunk_size)]
    if format_sort:
        argv += ["-S", ",".join(format_sort)]
    return [*argv, "--merge-output-format", "mkv", "--no-mtime", "-o", target, "--", url]
