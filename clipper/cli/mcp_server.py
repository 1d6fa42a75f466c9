"""`clipper mcp`: the tools of clipper/cli/mcp_tools.py served over stdio with the official MCP SDK (``mcp``,
imported only here, only by the mcp command).

While it serves, the SDK points file descriptor 1 at stderr and 0 at the null device, and speaks the protocol on
private copies of them: whatever clipper, yt-dlp, ffmpeg or a warning would print goes to stderr, and stdout
carries nothing but JSON-RPC. A problem is a tool error (``isError``) with the line the command line would print;
the server goes on."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import anyio
import anyio.to_thread
from anyio.from_thread import BlockingPortal
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import Field

from clipper import __version__
from clipper.cli.console import error_line, os_error_text
from clipper.cli.mcp_tools import Answer, Tools, problem_line
from clipper.core.errors import ClipperError
from clipper.run.progress import Reporter

INSTRUCTIONS = (
    "clipper turns markdown notes on long videos (YAML front matter with video_id and url, a ## Highlights section "
    "with timestamped yt-dlp clip commands) into frame-accurate clips with captions. Paths are on the server's "
    "machine, relative ones from its working folder. plan lists a note's (or a folder's) clips without making "
    "anything; batch makes them; cut makes one clip of a URL, YouTube id, media file or a note's highlight; list "
    "shows an output folder's clips. A note can never choose a command, a path or a non-public host."
)

NotesPath = Annotated[str, Field(description="A note (.md) or a folder searched for notes.")]
OutputDir = Annotated[str | None, Field(description="The output folder (default: the config's output_dir).")]
Source = Annotated[str, Field(description="A URL, a YouTube video id, a media file, or a note (.md).")]
TimeRange = Annotated[str | None, Field(description="START-END, e.g. 3:34-4:30 or 1:02:03.5-1:02:40.")]
OutputFile = Annotated[str | None, Field(description="The clip file (.mp4, .mkv, .webm, ...; default: named by the "
                                         "config's naming, in its output_dir).")]  # fmt: skip
Highlight = Annotated[int | None, Field(ge=1, description="With a note as source: which highlight (1 = the first).")]


def _answer(call: Callable[[], Answer]) -> CallToolResult:
    """A tool's answer as a result: its data as structured content and as JSON text; with problems, an error
    whose first text is their lines. A call refused outright is an error with its line alone."""
    try:
        answer = call()
    except ClipperError as error:
        return _error(problem_line(error))
    except OSError as error:  # the disk is full, a folder cannot be written: one line, as the command line says it
        return _error(error_line(os_error_text(error)))
    content: list[ContentBlock] = [TextContent(type="text", text=json.dumps(answer.data, indent=2, ensure_ascii=False))]
    if answer.problems:
        content.insert(0, TextContent(type="text", text="\n".join(answer.problems)))
    return CallToolResult(content=content, structured_content=answer.data, is_error=bool(answer.problems))


def _error(line: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=line)], is_error=True)


class RelayedProgress(Reporter):
    """The run's progress as the command line shows it on stderr, and each finished clip as an MCP progress
    notification (sent only when the caller asked for progress)."""

    def __init__(self, inner: Reporter, send: Callable[[float, float, str], None]) -> None:
        super().__init__(inner.stream, inner.verbose)
        self.inner, self.send = inner, send

    def start(self, total: int) -> None:
        self.inner.start(total)
        self.total = total
        self.send(0, total, f"{total} clip(s)")

    def task_started(self, key: str, label: str, total: float | None, unit: str = "s") -> None:
        self.inner.task_started(key, label, total, unit)

    def task_progress(self, key: str, done: float, total: float | None = None) -> None:
        self.inner.task_progress(key, done, total)

    def task_finished(self, key: str) -> None:
        self.inner.task_finished(key)

    def clip_finished(self, name: str, status: str, detail: str = "") -> None:
        self.inner.clip_finished(name, status, detail)
        with self.lock:
            self.finished += 1
            finished = self.finished
        self.send(finished, self.total, f"{status} {name}")

    def message(self, text: str) -> None:
        self.inner.message(text)

    def debug(self, text: str) -> None:
        self.inner.debug(text)

    def close(self) -> None:
        self.inner.close()


def build_server(config_path: Path | None, reporter: Callable[[], Reporter]) -> MCPServer:
    """The server and its four tools."""
    tools = Tools(config_path)
    server: MCPServer = MCPServer("clipper", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    async def in_thread(ctx: Context, work: Callable[[Reporter], Answer]) -> CallToolResult:
        """Run ``work`` on a worker thread (a run blocks for minutes) with a reporter that also sends its progress
        to the caller, from the runner's threads."""
        async with BlockingPortal() as portal:

            def send(done: float, total: float, message: str) -> None:
                with contextlib.suppress(Exception):  # the call ended, the client went away: progress is a hint
                    portal.call(ctx.report_progress, done, total, message)

            relayed = RelayedProgress(reporter(), send)
            result = await anyio.to_thread.run_sync(lambda: _answer(lambda: work(relayed)))
        return result

    @server.tool(description="List the clips the notes ask for (nothing is made): for each, its note and line, "
                 "video, range, output name, status (done, missing, failed) and how its video would be fetched. "
                 "Returns {clips: [...]} as `clipper plan --json`.")  # fmt: skip
    async def plan(notes: NotesPath, ctx: Context) -> CallToolResult:
        return await in_thread(ctx, lambda _: tools.plan(notes))

    @server.tool(description="Make every highlight clip of the notes (resumable: clips made already are skipped), "
                 "with captions, a manifest and a gallery page. Returns {clips: [manifest entries], summary: "
                 "{done, skipped, failed, output_dir}, gallery}.")  # fmt: skip
    async def batch(notes: NotesPath, ctx: Context, output_dir: OutputDir = None) -> CallToolResult:
        return await in_thread(ctx, lambda relayed: tools.batch(notes, output_dir, relayed))

    @server.tool(description="Make one clip, as `clipper cut`: of a URL, a YouTube id, a local media file, or a "
                 "note's highlight (give highlight; range is then optional). Returns {clips: [manifest entry], "
                 "summary}.")  # fmt: skip
    async def cut(
        source: Source, ctx: Context, range: TimeRange = None, output: OutputFile = None, highlight: Highlight = None
    ) -> CallToolResult:
        return await in_thread(ctx, lambda relayed: tools.cut(source, range, output, highlight, relayed))

    @server.tool(name="list", description="The clips of an output folder (done, missing or failed; length, size, "
                 "title) as `clipper list --json`. Returns {clips: [...], output_dir}.")  # fmt: skip
    async def list_clips(ctx: Context, output_dir: OutputDir = None) -> CallToolResult:
        return await in_thread(ctx, lambda _: tools.list_clips(output_dir))

    return server


def serve(config_path: Path | None, reporter: Callable[[], Reporter]) -> None:
    """Serve the tools on stdin and stdout until the client closes stdin."""
    server = build_server(config_path, reporter)
    anyio.run(server.run_stdio_async)
