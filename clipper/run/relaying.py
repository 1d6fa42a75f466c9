"""Fetching a section through the relay: ffmpeg copies the section from a local HTTP relay, which asks the host
for bounded chunks through yt-dlp's sessions (a note's media through a session of its own that reaches public
hosts only), refreshes expired URLs and counts the bytes for the progress bar.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from clipper.core.errors import CutError
from clipper.core.streams import MediaStream
from clipper.fetch import failures, netguard, youtubedl, ytdlp_argv
from clipper.media import ffmpeg
from clipper.plan.config import Config
from clipper.run.paths import remove
from clipper.run.progress import Reporter
from clipper.run.steps import section_step
from clipper.run.videos import Section, VideoJobs, public_only

if TYPE_CHECKING:  # loaded by the first fetch through it: a run that fetches no section never loads http.server
    from clipper.fetch import relay

# A video's media URLs, looked up again when ``expired`` (a URL the host refused) is still the one known.
Resolve = Callable[[VideoJobs, str | None], list[MediaStream]]


def _section_bytes(streams: Sequence[MediaStream], section: Section) -> float | None:
    """About how many bytes a section is (its share of the streams' sizes), for the progress bar."""
    sizes = [stream.size for stream in streams]
    duration = streams[0].duration if streams else None
    if not duration or any(size is None for size in sizes):
        return None
    return sum(size or 0 for size in sizes) * min(1.0, (section.end - section.start) / duration)


class SectionRelay:
    """The run's relay (started on first use, one per run) and the sections fetched through it."""

    def __init__(self, config: Config, reporter: Reporter, children: ffmpeg.ChildProcesses,
                 runtime: tuple[str, str] | None) -> None:  # fmt: skip
        self.config = config
        self.reporter = reporter
        self.children = children
        self.runtime = runtime
        # Starting the relay and its sessions has a lock of its own: building a session may take long (reading a
        # browser's cookies may wait for the user), and every clip's bookkeeping waits on the run's other locks.
        self._relay_lock = threading.Lock()
        self._relay: relay.Relay | None = None
        self._session: youtubedl.Session | None = None
        self._public_session: youtubedl.Session | None = None  # notes' media requests (see open_public)

    def media_relay(self) -> relay.Relay:
        """The relay ffmpeg reads URL media through (started on first use; one per run)."""
        from clipper.fetch import relay

        with self._relay_lock:
            if self._relay is None:
                self._session = youtubedl.Session(ytdlp_argv.session_argv(self.runtime, self.config.yt_dlp_args))
                params = self._session.params
                self._relay = relay.Relay(self._open, retries=self.config.retries,
                                          retry_delay=self.config.retry_delay,
                                          rate_limit=params.get("ratelimit"), log=self.reporter.message)  # fmt: skip
            return self._relay

    def _open(self, url: str, headers: Mapping[str, str]) -> relay.Response:
        """The relay's request for the user's own media (a ``sources:`` entry's URL): anywhere."""
        session = self._session
        if session is None:
            raise OSError("the run is stopping")
        return session.open(url, headers)

    def open_public(self, url: str, headers: Mapping[str, str]) -> relay.Response:
        """The relay's request for a note's media URL (and where it redirects): public hosts only, through a
        session of its own, whose pooled connections were all checked when they were made (the user's session
        may hold one to a private host of theirs, which a redirect would reuse unchecked)."""
        with self._relay_lock:
            if self._relay is None:
                raise OSError("the run is stopping")
            if self._public_session is None:
                self._public_session = youtubedl.Session(ytdlp_argv.session_argv(self.runtime, self.config.yt_dlp_args))
            session = self._public_session
        try:
            with netguard.only_public([session.params.get("proxy")]):
                return session.open(url, headers)
        except Exception as error:  # yt-dlp wraps the refusal in its own error: the relay must not retry it
            refused = netguard.refusal(str(error))
            if refused is None:
                raise
            raise netguard.NotPublic(refused) from None

    def stop(self) -> None:
        """Tell the relay the run is stopping (its requests end rather than retry)."""
        if self._relay is not None:
            self._relay.stopping.set()

    def close(self) -> None:
        """Stop the relay and close its sessions (a later fetch starts them again)."""
        with self._relay_lock:
            if self._relay is not None:
                self._relay.close()
            for session in (self._session, self._public_session):
                if session is not None:
                    session.close()
            self._relay = self._session = self._public_session = None

    def fetch(self, video: VideoJobs, section: Section, streams: Sequence[MediaStream], path: Path,
              resolve: Resolve) -> None:  # fmt: skip
        """ffmpeg copies the section from the relay, which asks the host for bounded chunks (progress in bytes);
        ``resolve`` looks the video up again when the host refuses a URL."""
        from clipper.fetch import relay

        media_relay = self.media_relay()
        label = f"fetch {video.video_id} {section.start:.0f}-{section.end:.0f}s"
        key = f"{label}#{threading.get_ident()}"
        received = [0]

        def on_bytes(count: int) -> None:
            received[0] += count
            self.reporter.task_progress(key, received[0])

        local: list[MediaStream] = []
        for index, stream in enumerate(streams):

            def refresh(failed: relay.Upstream, index: int = index) -> relay.Upstream:
                fresh = resolve(video, failed.url)[index]
                return relay.Upstream(fresh.url, fresh.headers)

            chunk = self.config.http_chunk_size or stream.chunk_size or 0
            # A note's stream, refreshed URLs included, connects to public hosts only.
            opener = self.open_public if public_only(video) else None
            url = media_relay.add(relay.Upstream(stream.url, stream.headers), chunk_size=chunk, refresh=refresh,
                                  on_bytes=on_bytes, name=f"{video.video_id}.{stream.format_id or index}",
                                  opener=opener)  # fmt: skip
            local.append(replace(stream, url=url, headers={}, via_relay=True))
        step = section_step(local, section, path)
        self.reporter.task_started(key, label, _section_bytes(streams, section), unit="B")
        try:
            self.reporter.debug("$ " + shlex.join(step.argv))
            error: CutError | None = None
            try:
                # The relay's secret reaches ffmpeg in its environment, never in its argv (see relay).
                ffmpeg.run_ffmpeg(step.argv, None, self.children, env=media_relay.environment(os.environ))
            except CutError as failed:
                error = failed
            # The host's reason, not ffmpeg's view of a broken read; and ffmpeg may take a read the relay had
            # to cut off for the end of the file: a section is never kept then.
            failure = next((found for found in map(media_relay.failure, (s.url for s in local)) if found), None)
            if failure is not None:
                raise failures.fetch_error(str(failure), retryable=failure.retryable, error=failure)
            if error is not None:
                raise error
        except BaseException:
            remove([path])
            raise
        finally:
            self.reporter.task_finished(key)
            for stream in local:
                media_relay.remove(stream.url)
