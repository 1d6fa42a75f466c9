"""What fetching hands to cutting: a media URL ffmpeg can read (``MediaStream``), and how ffmpeg reads the relay.

Its own module so that fetching (``fetch``, ``relay``) and cutting (``cut``, ``probe``) never import each
other: the runner joins them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# yt-dlp protocols whose media is one file at one URL: the relay can serve it in bounded Range requests.
# Others (HLS, DASH segment lists) come as fragments: yt-dlp's own fragment downloader fetches those.
RELAYABLE_PROTOCOLS = ("http", "https")


MPEG_TS_EXTS = ("ts", "m2ts", "mts", "m2t", "tsv", "tsa")


@dataclass(frozen=True)
class MediaStream:
    """One URL ffmpeg can read, with the headers the host wants and what yt-dlp says of it."""

    url: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    has_video: bool = True
    has_audio: bool = True
    format_id: str = ""
    protocol: str = "https"
    size: int | None = None  # bytes, exact or yt-dlp's estimate
    duration: float | None = None  # the video's, seconds
    chunk_size: int | None = None  # the format's downloader_options.http_chunk_size
    available_at: float | None = None  # a Unix time before which the host will not serve it
    via_relay: bool = False  # a URL of clipper's relay, which rides out dropped connections itself
    ext: str = ""  # the file type yt-dlp gives it (``mp4``, ``webm``, ``ts``)

    @property
    def relayable(self) -> bool:
        return self.protocol in RELAYABLE_PROTOCOLS

    @property
    def seeks_exactly(self) -> bool:
        """Whether a seek in it lands where asked: MPEG-TS has no index, its seeks land between keyframes (a
        section copied from one could start after the keyframe its first clip needs)."""
        return self.ext.lower() not in MPEG_TS_EXTS


# The relay's socket buffers towards ffmpeg, and ffmpeg's own (its -recv_buffer_size): small, so the relay stays
# this close to what ffmpeg has read, and the host is not asked for what ffmpeg will not read when it seeks away
# or stops at a section's end. (Loopback sockets' buffers grow to megabytes: 4 MB more per section.)
SOCKET_BUFFER = 64 * 1024
