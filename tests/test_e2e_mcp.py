"""End to end: `clipper mcp` started as an assistant's client starts it (``python -m clipper mcp --config CFG``)
and spoken to with the official SDK's client over stdio; real yt-dlp and ffmpeg on generated media served from
127.0.0.1; clips decoded against their source. Bad input is a tool error with the command line's own line, and
the server answers the next call; stdout carries JSON-RPC alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from conftest import FPS, Served
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import LATEST_PROTOCOL_VERSION, CallToolResult, TextContent
from redisd import clip_name, note_text
from verify import check_clip, run_clipper

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VIDEO = "mcpvideoA01"
SPANS = [(3.0, 6.0), (11.0, 14.5)]
T = TypeVar("T")


def server_env() -> dict[str, str]:
    """What the server needs of this environment (the client passes only HOME, PATH and the like)."""
    names = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME")
    return {"PYTHONPATH": str(ROOT), **{name: os.environ[name] for name in names if name in os.environ}}


def talk(cwd: Path, config: Path, script: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Start the server in ``cwd``, open a session, run ``script`` on it; the server's stderr goes to a log."""

    async def main() -> T:
        params = StdioServerParameters(command=sys.executable, args=["-m", "clipper", "mcp", "--config", str(config)],
                                       env=server_env(), cwd=cwd)  # fmt: skip
        with (cwd / "server.log").open("w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await script(session)

    return anyio.run(main)


def text(result: CallToolResult) -> str:
    """The result's first text: the problems' lines for an error, else the JSON."""
    block = result.content[0]
    assert isinstance(block, TextContent), result
    return block.text


def write_config(folder: Path, source: str, **extra: object) -> Path:
    lines = ["output_dir: out", f"cache_dir: {json.dumps(str(folder / 'cache'))}", "sources:",
             f"  {VIDEO}: {json.dumps(source)}"]  # fmt: skip
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "clipper.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_note(folder: Path, name: str = f"{VIDEO}.md", video_id: str = VIDEO) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(note_text(video_id, SPANS), encoding="utf-8")
    return path


def assert_frame_accurate(clip: Path, thumbs: list[bytes], start: float, end: float) -> None:
    check = check_clip(clip, thumbs, start, end, FPS)
    assert abs(check.first_error) <= 1, (clip.name, check)
    assert abs(check.last_error) <= 1, (clip.name, check)
    assert abs(check.frames - check.expected_frames) <= 1, (clip.name, check)
    assert check.preroll_packets == 0, (clip.name, check)


def test_batch_plan_and_list_make_and_show_a_notes_clips(
    tmp_path: Path, server: Served, short_thumbs: list[bytes]
) -> None:
    notes = write_note(tmp_path / "notes")
    config = write_config(tmp_path, server.url("short.mp4"))
    reported: list[tuple[float, float | None, str | None]] = []

    async def script(session: ClientSession) -> dict[str, CallToolResult]:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            reported.append((progress, total, message))

        results = {"plan": await session.call_tool("plan", {"notes": "notes"})}
        results["batch"] = await session.call_tool("batch", {"notes": "notes", "output_dir": "made"},
                                                   progress_callback=on_progress)  # fmt: skip
        results["again"] = await session.call_tool("batch", {"notes": str(notes), "output_dir": "made"})
        results["list"] = await session.call_tool("list", {"output_dir": "made"})
        return results

    results = talk(tmp_path, config, script)

    names = [clip_name(VIDEO, start) for start, _ in SPANS]
    planned = results["plan"]
    assert not planned.is_error, text(planned)
    assert planned.structured_content is not None
    cli_plan = run_clipper("plan", "notes", "--json", "--config", str(config), cwd=tmp_path)
    assert planned.structured_content == {"clips": json.loads(cli_plan.stdout)}  # as `clipper plan --json`
    assert [(c["output"], c["start"], c["end"], c["status"]) for c in planned.structured_content["clips"]] == [
        (name, start, end, "missing") for name, (start, end) in zip(names, SPANS, strict=True)
    ]
    made = results["batch"]
    assert not made.is_error, text(made)
    assert made.structured_content is not None
    out = tmp_path / "made"  # the tool's output_dir, from the server's working folder, over the config's
    assert made.structured_content["summary"] == {"done": 2, "skipped": 0, "failed": 0, "output_dir": str(out)}
    assert made.structured_content["gallery"] == str(out / "index.html") and (out / "index.html").is_file()
    assert json.loads(text(made)) == made.structured_content
    manifest = json.loads((out / "manifest.json").read_text())["clips"]
    for entry in made.structured_content["clips"]:  # the manifest's own entries, as `batch --json` prints them
        assert entry["status"] == "done" and entry["file"] == manifest[entry["output"]]["file"], entry
    for name, (start, end) in zip(names, SPANS, strict=True):
        assert_frame_accurate(out / name, short_thumbs, start, end)
    assert reported[0] == (0, 2, "2 clip(s)") and reported[-1][:2] == (2, 2), reported
    assert sorted(message or "" for _, _, message in reported[1:]) == sorted(f"done {name}" for name in names)
    listed = results["list"]
    assert not listed.is_error, text(listed)
    assert listed.structured_content is not None
    assert [(c["output"], c["status"]) for c in listed.structured_content["clips"]] == [(n, "done") for n in names]
    assert listed.structured_content["clips"] == json.loads(run_clipper("list", "made", "--json", cwd=tmp_path).stdout)
    again = results["again"]
    assert again.structured_content is not None
    assert again.structured_content["summary"] == {"done": 0, "skipped": 2, "failed": 0, "output_dir": str(out)}
    assert not (tmp_path / "out").exists()  # the config's output_dir was not used
    assert "2 clip(s)" in (tmp_path / "server.log").read_text()  # the run's progress went to stderr


def test_the_tools_and_cut_of_a_local_file_and_a_notes_highlight(
    tmp_path: Path, short_video: Path, short_thumbs: list[bytes]
) -> None:
    write_note(tmp_path / "notes")
    config = write_config(tmp_path, str(short_video))

    async def script(session: ClientSession) -> list[CallToolResult]:
        listed = (await session.list_tools()).tools
        schemas = {tool.name: tool.input_schema for tool in listed}
        assert sorted(schemas) == ["batch", "cut", "list", "plan"]
        assert {name: (sorted(schema["properties"]), schema.get("required")) for name, schema in schemas.items()} == {
            "plan": (["notes"], ["notes"]),
            "batch": (["notes", "output_dir"], ["notes"]),
            "cut": (["highlight", "output", "range", "source"], ["source"]),
            "list": (["output_dir"], None),
        }
        assert all(tool.description for tool in listed)
        return [
            await session.call_tool("cut", {"source": str(short_video), "range": "0:03-0:07.5", "output": "c/one.mp4"}),
            await session.call_tool("cut", {"source": f"notes/{VIDEO}.md", "highlight": 2}),
        ]

    local, highlight = talk(tmp_path, config, script)

    assert not local.is_error, text(local)
    assert local.structured_content is not None
    assert local.structured_content["summary"] == {"done": 1, "skipped": 0, "failed": 0,
                                                   "output_dir": str(tmp_path / "c")}  # fmt: skip
    [entry] = local.structured_content["clips"]
    assert (entry["output"], entry["start"], entry["end"], entry["status"]) == ("one.mp4", 3.0, 7.5, "done")
    assert_frame_accurate(tmp_path / "c" / "one.mp4", short_thumbs, 3.0, 7.5)  # relative to the server's folder
    assert not highlight.is_error, text(highlight)
    assert highlight.structured_content is not None
    [entry] = highlight.structured_content["clips"]
    assert (entry["output"], entry["quote"]) == (clip_name(VIDEO, 11.0), "Part 2 of the test picture."), entry
    assert_frame_accurate(tmp_path / "out" / clip_name(VIDEO, 11.0), short_thumbs, 11.0, 14.5)


def test_bad_input_is_a_tool_error_with_the_command_lines_line_and_the_server_goes_on(
    tmp_path: Path, short_video: Path
) -> None:
    notes = tmp_path / "notes"
    good = write_note(notes)
    hostile = notes / "hostile.md"
    hostile.write_text(good.read_text().replace("--force-keyframes-at-cuts", '--exec "touch pwned"'))
    private = tmp_path / "private" / "p.md"
    write_note(private.parent, private.name, "privateV001")
    private.write_text(private.read_text().replace("https://www.youtube.com/watch?v=", "http://127.0.0.1:9/v?v="))
    (tmp_path / "afile").write_text("")
    (tmp_path / "empty").mkdir()
    config = write_config(tmp_path, str(short_video))
    calls: list[tuple[str, dict[str, Any]]] = [
        ("plan", {"notes": "nothere.md"}),
        ("cut", {"source": str(short_video), "range": "9:99-1:00"}),
        ("cut", {"source": str(short_video), "range": "0:01-0:02", "output": "clip.txt"}),
        ("cut", {"source": "not a thing", "range": "0:01-0:02"}),
        ("cut", {"source": str(good), "range": None}),
        ("plan", {"notes": str(hostile)}),
        ("batch", {"notes": str(private)}),
        ("batch", {"notes": str(good), "output_dir": "afile"}),
        ("list", {"output_dir": "empty"}),
        ("cut", {"source": str(good), "highlight": 0}),
        ("cut", {"source": 5}),
        ("nope", {}),
    ]

    async def script(session: ClientSession) -> tuple[list[tuple[CallToolResult, CallToolResult]], list[str]]:
        answers = []
        for name, arguments in calls:
            bad = await session.call_tool(name, arguments)
            answers.append((bad, await session.call_tool("plan", {"notes": str(good)})))  # the server is still up
        config.write_text(config.read_text() + "jobs: many\n")  # broken: each call says so, and goes on
        broken = [await session.call_tool("plan", {"notes": str(good)}), await session.call_tool("list", {})]
        config.write_text(config.read_text().replace("jobs: many\n", "jobs: 1\n"))  # mended: read again
        mended = await session.call_tool("plan", {"notes": str(good)})
        assert not mended.is_error, text(mended)
        assert all(result.is_error for result in broken), broken
        return answers, [text(result) for result in broken]

    answers, broken = talk(tmp_path, config, script)

    lines = [text(bad) for bad, _ in answers]
    assert all(bad.is_error for bad, _ in answers), lines
    assert all(not after.is_error for _, after in answers), [text(after) for _, after in answers]
    cli_hostile = run_clipper("plan", str(hostile), "--config", str(config), cwd=tmp_path)
    cli_private = run_clipper("batch", str(private), "--config", str(config), cwd=tmp_path)
    range_line = "'9:99' is not a timestamp (use M:SS, H:MM:SS or seconds, e.g. 1:20:00.5)"
    assert (
        lines[:9]
        == [
            "clipper: Invalid value for notes: Path 'nothere.md' does not exist.",
            f"clipper: Invalid value for range: {range_line}",
            "clipper: Invalid value for output: clip.txt: a clip is .mp4, .m4a, .m4v, .mov, .mkv, .mka, .webm",
            "clipper: 'not a thing' is not a file, a URL or a YouTube video id",
            f"{good}: a note as source needs highlight (see the plan tool for the list)",
            cli_hostile.stderr.strip(),  # the command line's own line for the note's --exec
            "\n".join(cli_private.stderr.splitlines()[:2]),  # and for its private host (each highlight's URL)
            "clipper: Invalid value for output_dir: Directory 'afile' is a file.",
            "empty: no manifest.json (no clips made here yet)",
        ]
    )
    assert lines[5].startswith(f"{hostile}:") and lines[5].endswith(": --exec is not allowed in a clip command")
    assert all(line.startswith(f"{private}:") and ": 127.0.0.1 is not a public address" in line
               for line in lines[6].splitlines()), lines[6]  # fmt: skip
    assert answers[5][0].structured_content == {"clips": []}  # the note's good clips (none: its two share the --exec)
    assert "highlight" in lines[9] and "source" in lines[10] and "nope" in lines[11], lines[9:]
    assert broken == [f"{config}:5: jobs must be a whole number, not a string"] * 2
    assert not list(tmp_path.rglob("pwned"))
    assert not list(tmp_path.rglob("*.mp4"))  # nothing was made for a refused call


# Starts `clipper mcp` with its planning made to print on stdout three ways (Python, the file descriptor, a child).
NOISY_SERVER = """
import os, subprocess, sys
import clipper.cli.mcp_tools as tools
real = tools.plan_notes
def noisy(*args, **kwargs):
    print("junk from print")
    sys.stdout.flush()
    os.write(1, b"junk from fd 1\\n")
    subprocess.run([sys.executable, "-c", "print('junk from a child')"], check=True)
    return real(*args, **kwargs)
tools.plan_notes = noisy
from clipper.cli.main import main
sys.exit(main(["mcp", "--config", sys.argv[1]]))
"""


def test_stdout_carries_only_json_rpc_whatever_else_prints(tmp_path: Path, short_video: Path) -> None:
    good = write_note(tmp_path / "notes")
    config = write_config(tmp_path, str(short_video))
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": LATEST_PROTOCOL_VERSION, "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "plan", "arguments": {"notes": str(good)}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "plan", "arguments": {"notes": "no"}}},
    ]  # fmt: skip

    process = subprocess.Popen([sys.executable, "-c", NOISY_SERVER, str(config)], cwd=tmp_path, text=True,
                               env={**os.environ, **server_env()}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        process.stdin.write("".join(json.dumps(request) + "\n" for request in requests))
        process.stdin.flush()
        lines: list[str] = []
        answered: set[int] = set()
        while {1, 2, 3} - answered:  # before stdin is closed: the server ends with it
            line = process.stdout.readline()
            assert line, "the server stopped before it answered"
            lines.append(line)
            answered.add(json.loads(line).get("id", 0))  # JSON, or this fails
        rest, stderr = process.communicate(timeout=30)  # closes stdin: the server ends
    finally:
        watchdog.cancel()
        process.kill()

    stdout = "".join(lines) + rest
    messages = [json.loads(line) for line in stdout.splitlines()]  # every line is JSON
    assert all(message["jsonrpc"] == "2.0" for message in messages), stdout
    answers = {message["id"]: message for message in messages if "id" in message}
    assert sorted(answers) == [1, 2, 3], stdout
    assert answers[1]["result"]["serverInfo"]["name"] == "clipper"
    assert answers[2]["result"]["isError"] is False
    assert [c["output"] for c in answers[2]["result"]["structuredContent"]["clips"]] == [
        clip_name(VIDEO, start) for start, _ in SPANS
    ]
    assert answers[3]["result"]["isError"] is True
    for junk in ("junk from print", "junk from fd 1", "junk from a child"):
        assert junk in stderr and junk not in stdout
    assert process.returncode == 0, stderr
