"""The user's own yt-dlp options (config ``yt_dlp_args``, ``--cookies``, ``--cookies-from-browser``).

The user's config is trusted, unlike a note, but clipper still does its own job: options that would name,
place or post-process files, run commands, print instead of download or load other configuration are
refused, with the reason. Everything else that shapes how yt-dlp reaches a host (network, proxy, cookies,
impersonation, authentication, headers, sleeps, rate limits, extractor arguments) is passed on, parsed by
yt-dlp's own parser, to every yt-dlp call and to every media request clipper or ffmpeg makes.
"""

from __future__ import annotations

import contextlib
import io
import optparse
from collections.abc import Sequence
from typing import Any

from clipper.policy.clip_command import UnsafeCommand, _parser, iter_options

# yt-dlp option dests a user may set. Checking the resolved dest covers every alias and prefix.
PASSED_ON = frozenset(
    {
        # network
        "proxy", "socket_timeout", "source_address", "impersonate",
        "geo_bypass", "geo_verification_proxy",
        # cookies and authentication
        "cookiefile", "cookiesfrombrowser", "usenetrc", "netrc_location", "username", "password", "twofactor",
        "videopassword", "ap_mso", "ap_username", "ap_password", "client_certificate", "client_certificate_key",
        "client_certificate_password",
        # how requests are made
        "headers", "user_agent", "referer", "legacy_server_connect", "no_check_certificate", "prefer_insecure",
        "sleep_interval_requests", "sleep_interval", "max_sleep_interval", "ratelimit", "throttledratelimit",
        "retries", "fragment_retries", "file_access_retries", "retry_sleep", "extractor_retries",
        "concurrent_fragment_downloads", "buffersize", "noresizebuffer",
        # extractors (YouTube's player clients, PO tokens, JavaScript runtimes)
        "extractor_args", "js_runtimes", "remote_components", "dynamic_mpd", "hls_split_discontinuity",
        "cachedir",
    }
)  # fmt: skip

_REASONS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"outtmpl", "paths", "outtmpl_na_placeholder", "restrictfilenames", "windowsfilenames",
                "trim_file_name", "autonumber_size", "autonumber_start", "nopart", "continue_dl", "overwrites",
                "updatetime", "writeinfojson", "writedescription", "writethumbnail", "writesubtitles",
                "writeautomaticsub", "writelink", "writeurllink", "writewebloclink", "writedesktoplink",
                "download_archive", "force_write_download_archive", "keep_fragments", "xattrs"}),
     "clipper names and places every file itself"),
    (frozenset({"exec_cmd", "exec_before_dl_cmd", "netrc_cmd"}), "clipper runs no command from its configuration"),
    (frozenset({"add_postprocessors", "postprocessor_args", "extractaudio", "audioformat", "audioquality",
                "recodevideo", "remuxvideo", "embedsubtitles", "embedthumbnail", "addmetadata", "addchapters",
                "embed_infojson", "parse_metadata", "metafromtitle", "split_chapters", "remove_chapters",
                "sponsorblock_mark", "sponsorblock_remove", "sponsorblock_chapter_title", "no_sponsorblock",
                "sponsorblock_api", "ffmpeg_location", "fixup", "keepvideo", "nopostoverwrites",
                "convertsubtitles", "convertthumbnails", "concat_playlist", "merge_output_format",
                "force_keyframes_at_cuts"}),
     "clipper cuts, muxes and tags the clips itself"),
    (frozenset({"download_ranges"}), "clipper fetches each clip's section itself"),
    (frozenset({"skip_unavailable_fragments"}), "clipper never keeps a download with fragments missing"),
    (frozenset({"external_downloader", "external_downloader_args", "hls_prefer_native", "hls_use_mpegts",
                "enable_file_urls", "test"}),
     "clipper fetches through yt-dlp's own networking"),
    (frozenset({"simulate", "skip_download", "geturl", "gettitle", "getid", "getthumbnail", "getdescription",
                "getduration", "getfilename", "getformat", "dumpjson", "dump_single_json", "print_json",
                "forceprint", "print_to_file", "listformats", "listformats_table", "listsubtitles",
                "list_thumbnails", "list_extractors", "list_extractor_descriptions", "list_impersonate_targets",
                "ap_list_mso", "print_help", "quiet", "verbose", "no_warnings", "noprogress", "progress_template",
                "progress_with_newline", "progress_delta", "consoletitle", "dump_intermediate_pages", "write_pages",
                "load_pages", "debug_printtraffic", "update_self", "rm_cachedir"}),
     "clipper reads yt-dlp's results and shows progress itself"),
    (frozenset({"config_locations", "ignoreconfig", "plugin_dirs", "batchfile", "load_info_filename", "_"}),
     "clipper runs yt-dlp without config files, plugins or batch files"),
    (frozenset({"format", "format_sort", "format_sort_force", "check_formats", "prefer_free_formats",
                "allow_unplayable_formats", "allow_multiple_video_streams", "allow_multiple_audio_streams"}),
     "set format: and format_sort: in the config"),
    (frozenset({"http_chunk_size"}), "set http_chunk_size: in the config"),
)  # fmt: skip


def _why_not(dest: str | None) -> str:
    for dests, reason in _REASONS:
        if dest in dests:
            return reason
    return "only network, cookie, authentication and extractor options are passed on"


def _check_user_option(option: optparse.Option, shown: str) -> None:
    if option.dest not in PASSED_ON:
        raise UnsafeCommand(f"{shown} cannot be used in yt_dlp_args ({_why_not(option.dest)})")


def check_user_args(args: Sequence[str]) -> None:
    """Refuse what the user's yt-dlp arguments may not set; UnsafeCommand names the first such option."""
    _, positionals = iter_options(list(args), _check_user_option)
    if positionals:
        raise UnsafeCommand(f"{positionals[0]!r} is not an option: yt_dlp_args takes options only, no URLs")


def user_params(args: Sequence[str]) -> dict[str, Any]:
    """The YoutubeDL params that the user's (checked) yt-dlp arguments give, by yt-dlp's own parser.

    Only the params they change are returned, so clipper's own settings stay as they are.
    """
    import yt_dlp

    check_user_args(args)
    if not args:
        return {}
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            base = yt_dlp.parse_options(["--ignore-config"]).ydl_opts
            given = yt_dlp.parse_options(["--ignore-config", *args]).ydl_opts
    except (SystemExit, optparse.OptParseError) as error:  # a value yt-dlp does not accept
        lines = (str(error) if isinstance(error, optparse.OptParseError) else stderr.getvalue()).strip().splitlines()
        message = lines[-1].split("error: ", 1)[-1] if lines else "not accepted by yt-dlp"
        raise UnsafeCommand(f"yt_dlp_args: {message}") from None
    return {key: value for key, value in given.items() if base.get(key) != value}


_SECRET_DESTS = frozenset({"password", "ap_password", "videopassword", "client_certificate_password", "twofactor"})


def redact(argv: Sequence[str]) -> list[str]:
    """``argv`` for a log line: the values of password options shown as ``***``."""
    parser = _parser()
    parser_options = {**parser._long_opt, **parser._short_opt}
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
            continue
        name, eq, _ = arg.partition("=")
        option = parser_options.get(name)
        if option is not None and option.dest in _SECRET_DESTS:
            if eq:
                shown.append(f"{name}=***")
            else:
                shown.append(arg)
                hide_next = True
            continue
        shown.append(arg)
    return shown
