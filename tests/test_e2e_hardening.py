"""End to end, as an unlucky user or an attacker would try it: two runs into one folder, two video ids that
name one source, links planted in the output folder. The real CLI, yt-dlp and ffmpeg; clips decoded."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTE, FPS, Served
from hosts import serve_host, top_level_boxes
from media import serve_without_ranges
from verify import check_clip, decode_errors, duration_of, frame_md5s, processes_mentioning, run_clipper, stream_kinds

from clipper.notes.parse import parse_note
from clipper.plan.config import load_config
from clipper.plan.jobs import plan_jobs
from clipper.run.paths import section_path, temp_path
from clipper.run.videos import group_videos

pytestmark = pytest.mark.slow

CLIPS = {"u3HBJVjpXuw-0m38s.mp4": (38.0, 95.0), "u3HBJVjpXuw-3m34s.mp4": (214.0, 270.0)}


def two_clip_note(folder: Path, video_id: str = "u3HBJVjpXuw") -> Path:
    notes = folder / "notes"
    notes.mkdir(exist_ok=True)
    text = EXAMPLE_NOTE.read_text()
    head, rest = text.split('### "Imitation', 1)
    text = head + "## " + rest.split("\n## ", 1)[1]  # the first two highlights, and the transcript
    (notes / f"{video_id}.md").write_text(text.replace("u3HBJVjpXuw", video_id))
    return notes


def write_config(folder: Path, sources: dict[str, str], **extra: object) -> Path:
    lines = ["output_dir: out", "retry_delay: 0.1", "sources:"]
    lines += [f"  {video_id}: {json.dumps(url)}" for video_id, url in sources.items()]
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "clipper.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_whole(out: Path, thumbs: list[bytes], clips: dict[str, tuple[float, float]]) -> None:
    for name, (start, end) in clips.items():
        assert decode_errors(out / name) == "", name
        check = check_clip(out / name, thumbs, start, end, FPS)
        assert abs(check.first_error) <= 1 and abs(check.last_error) <= 1, (name, check)
        assert abs(check.frames - check.expected_frames) <= 1, (name, check)


def test_two_runs_into_one_folder_leave_whole_clips_and_do_the_work_once(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, fetch="sections")
    command = [sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config), "--no-gallery"]
    runs = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [run.communicate(timeout=180)[1] for run in runs]

    assert [run.returncode for run in runs] == [0, 0], errors
    summaries = sorted(line for text in errors for line in text.splitlines() if line.startswith("clipper: ") and
                       " done, " in line)  # fmt: skip
    assert [line.split(" -> ")[0] for line in summaries] == ["clipper: 0 done, 2 skipped, 0 failed",
                                                             "clipper: 2 done, 0 skipped, 0 failed"]  # fmt: skip
    assert any("another clipper run (pid " in text and "waiting for it to finish" in text for text in errors), errors
    out = tmp_path / "out"
    assert_whole(out, long_thumbs, CLIPS)
    assert sorted(path.name for path in out.iterdir() if path.name.startswith(".")) == [".clipper.lock"]


def test_two_video_ids_that_name_one_source_each_get_their_clips(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    notes = two_clip_note(tmp_path)
    two_clip_note(tmp_path, "sameSource0")
    url = server.url("long.mp4")
    config = write_config(tmp_path, {"u3HBJVjpXuw": url, "sameSource0": url}, fetch="sections", jobs=4)

    result = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "4 done, 0 skipped, 0 failed" in result.stderr
    clips = {**CLIPS, **{name.replace("u3HBJVjpXuw", "sameSource0"): span for name, span in CLIPS.items()}}
    assert_whole(tmp_path / "out", long_thumbs, clips)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads command lines from /proc")
def test_the_relays_secret_is_in_no_command_line_a_neighbour_can_read(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    """Any local user reads any process's command line (``ps``): the secret that opens the relay (and the user's
    cookies behind it) must not be in ffmpeg's. A script in front of ffmpeg keeps each one's command line, as
    /proc shows it, and the proxy its environment gives it."""
    tools, seen = tmp_path / "bin", tmp_path / "seen"
    tools.mkdir()
    seen.mkdir()
    (tools / "ffmpeg").write_text(f"""#!/bin/sh
printf '%s' "${{http_proxy-}}" > "{seen}/$$.proxy"
cat /proc/$$/cmdline > "{seen}/$$.cmdline"
exec "{shutil.which("ffmpeg")}" "$@"
""")
    (tools / "ffmpeg").chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "no_proxy": "127.0.0.1,localhost"}
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, fetch="sections")

    result = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", "-v", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert_whole(tmp_path / "out", long_thumbs, CLIPS)
    runs = {path.stem: (path.read_text(), path.with_suffix(".cmdline").read_bytes().decode())
            for path in seen.glob("*.proxy")}  # fmt: skip
    relayed = [argv for _, argv in runs.values() if "-rw_timeout" in argv]  # the sections' fetches
    assert len(relayed) == 2, runs
    # Each relayed input names a stream alone: a random key and a readable name.
    host_port = server.base.rsplit(":", 1)[1].split("/")[0]
    urls = [url for argv in relayed for url in re.findall(r"http://127\.0\.0\.1:\d+/[^\x00]*", argv)]
    assert urls and all(re.fullmatch(r"http://127\.0\.0\.1:\d+/[0-9a-f]{12}/[\w.-]+", url) for url in urls), urls
    assert not any(url.startswith(f"http://127.0.0.1:{host_port}/") for url in urls)  # read through the relay
    # The secret reached them in their environment alone.
    passwords = {re.sub(r"^http://clipper:([0-9a-f]+)@127\.0\.0\.1:\d+$", r"\1", proxy) for proxy, _ in runs.values()
               if proxy}  # fmt: skip
    assert len(passwords) == 1 and all(re.fullmatch(r"[0-9a-f]{32}", secret) for secret in passwords), runs
    for _, argv in runs.values():
        assert not any(secret in argv for secret in passwords), argv
    assert "-rw_timeout" in result.stderr and not any(secret in result.stderr for secret in passwords)  # -v's log


def test_links_planted_in_the_output_folder_are_never_written_through(tmp_path: Path, server: Served) -> None:
    notes = two_clip_note(tmp_path)
    config_path = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, fetch="sections")
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Links at every name an earlier clipper used for its temporary files, and a posters folder that leads out.
    config = load_config(config_path)
    note = parse_note(notes / "u3HBJVjpXuw.md")
    assert note is not None
    jobs, _ = plan_jobs([note], config)
    planted = [temp_path(job, config) for job in jobs]
    planted += [
        section_path(video, section, config) for video in group_videos(jobs, config) for section in video.sections
    ]
    for path in planted:
        path.symlink_to(victim)
    (out / "posters").symlink_to(elsewhere, target_is_directory=True)

    result = run_clipper("batch", str(notes), "--config", str(config_path), cwd=tmp_path)

    assert victim.read_text() == "precious\n"
    assert list(elsewhere.iterdir()) == []
    assert "posters is a symbolic link: clipper will not write through it" in result.stderr
    assert sorted(path.name for path in out.glob("*.mp4")) == sorted(CLIPS)


def test_a_clip_damaged_after_it_was_made_is_made_again(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, fetch="sections")
    first = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    record = json.loads((out / "manifest.json").read_text())["clips"]["u3HBJVjpXuw-0m38s.mp4"]["file"]
    assert record["size"] == (out / "u3HBJVjpXuw-0m38s.mp4").stat().st_size and len(record["sha256"]) == 64

    damaged, touched = out / "u3HBJVjpXuw-0m38s.mp4", out / "u3HBJVjpXuw-3m34s.mp4"
    data = bytearray(damaged.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20000] = bytes((index * 151 + 7) % 256 for index in range(20000))  # same length
    damaged.write_bytes(bytes(data))
    touched.touch()  # a new time, the same bytes: still the clip clipper made
    touched_stamp = touched.stat().st_mtime_ns

    again = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert "u3HBJVjpXuw-0m38s.mp4: changed since it was made and does not decode cleanly" in again.stderr
    assert "1 done, 1 skipped, 0 failed" in again.stderr
    assert touched.stat().st_mtime_ns == touched_stamp
    assert_whole(out, long_thumbs, CLIPS)


def test_a_note_whose_host_name_resolves_to_a_private_address_reaches_nothing(tmp_path: Path, server: Served) -> None:
    host = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    if all(ipaddress.ip_address(address).is_global for address in addresses):
        pytest.skip(f"{host} resolves to a public address here: {addresses}")
    port = server.base.rsplit(":", 1)[1]
    url = f"http://{host}:{port}/ssrf-admin"
    notes = tmp_path / "notes"
    notes.mkdir()
    text = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0]
    text = text.replace("url: https://www.youtube.com/watch?v=u3HBJVjpXuw", f"url: {url}")
    (notes / "x.md").write_text(text.replace('"https://www.youtube.com/watch?v=u3HBJVjpXuw"', f'"{url}"'))
    (tmp_path / "clipper.yaml").write_text("output_dir: out\nretry_delay: 0.1\n")
    before = len(server.requests)

    result = run_clipper("batch", str(notes), "--config", str(tmp_path / "clipper.yaml"), cwd=tmp_path)

    assert result.returncode == 1
    assert f"{notes / 'x.md'}:35: {host} resolves to " in result.stderr
    assert "not a public address" in result.stderr
    assert len(server.requests) == before  # nothing was asked of the address
    assert "Traceback" not in result.stderr


def dry_run_script(tmp_path: Path, notes: Path, config: Path, *extra: str) -> Path:
    result = run_clipper("batch", str(notes), "--config", str(config), "--dry-run", *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    script = tmp_path / "clips.sh"
    script.write_text(result.stdout)
    subprocess.run(["bash", "-n", str(script)], check=True)
    return script


@pytest.mark.parametrize("fetch", ["local", "sections", "full"])
def test_the_dry_run_script_runs_as_printed_and_makes_the_clips(
    tmp_path: Path, server: Served, long_video: Path, long_thumbs: list[bytes], fetch: str
) -> None:
    notes = two_clip_note(tmp_path)
    source = str(long_video) if fetch == "local" else server.url("long.mp4")
    extra = {} if fetch == "local" else {"fetch": fetch}
    config = write_config(tmp_path, {"u3HBJVjpXuw": source}, output_dir="script-out",
                          cache_dir=str(tmp_path / "cache"), **extra)  # fmt: skip
    script = dry_run_script(tmp_path, notes, config)
    assert not (tmp_path / "script-out").exists()  # the dry run itself wrote nothing

    ran = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stderr[-3000:]
    out = tmp_path / "script-out"
    assert_whole(out, long_thumbs, CLIPS)
    for name in CLIPS:
        assert stream_kinds(out / name) == ["video", "audio"]
        assert (out / name).with_suffix(".srt").read_text().startswith("1\n00:00:00,000 --> ")
    assert sorted(path.name for path in out.iterdir() if path.name.startswith(".")) == []
    if fetch == "local":  # the same commands as the run: the same frames
        made = run_clipper("batch", str(notes), "--config", str(config), "-o", str(tmp_path / "run-out"), cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        for name in CLIPS:
            assert frame_md5s(out / name) == frame_md5s(tmp_path / "run-out" / name), name


@pytest.mark.parametrize("index", ["at the end", "first"])
def test_the_dry_run_script_runs_against_a_host_without_range_support(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], index: str
) -> None:
    """Served as `python3 -m http.server` serves it: no Range support. An MP4 whose index (moov) is first is read
    from its start to each section; one whose index is at its end cannot be read without seeking, so the script
    downloads it whole, once, into the cache and cuts the clips from that file."""
    served = tmp_path / "served"
    served.mkdir()
    media = served / "long.mp4"
    if index == "first":
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(long_video), "-c", "copy", "-movflags", "+faststart",
                        str(media)], check=True)  # fmt: skip
    else:
        shutil.copyfile(long_video, media)
    boxes = [kind for kind, _, _ in top_level_boxes(media)]
    assert (boxes.index(b"moov") < boxes.index(b"mdat")) == (index == "first")
    notes = two_clip_note(tmp_path)
    cache = tmp_path / "cache"
    with serve_without_ranges(served) as (base, requests):
        config = write_config(tmp_path, {"u3HBJVjpXuw": f"{base}/long.mp4"}, output_dir="script-out",
                              cache_dir=str(cache), fetch="sections")  # fmt: skip
        script = dry_run_script(tmp_path, notes, config)
        ran = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert any(header for _, header in requests)  # ffmpeg asked for ranges and was answered with whole files
    out = tmp_path / "script-out"
    assert_whole(out, long_thumbs, CLIPS)
    assert sorted(path.name for path in out.iterdir()) == sorted(
        name.replace(".mp4", suffix) for name in CLIPS for suffix in (".mp4", ".srt", ".vtt")
    )  # no section left behind
    downloads = sorted(path.name for path in cache.iterdir()) if cache.exists() else []
    assert len(downloads) == (1 if index == "at the end" else 0), downloads


def test_the_dry_run_script_stops_at_the_first_failure(tmp_path: Path, server: Served) -> None:
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("404/long.mp4")}, fetch="sections")
    script = dry_run_script(tmp_path, notes, config)
    ran = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ran.returncode != 0
    assert not list((tmp_path / "out").glob("*.mp4"))


def test_no_note_text_or_file_name_becomes_a_command_in_the_dry_run_script(tmp_path: Path, long_video: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    text = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0]
    text = text.replace("title: ", 'title: "x\\ntouch PWNED-title #"\ntitle_was: ', 1)
    (notes / "x\ntouch PWNED #.md").write_text(text)
    config = write_config(tmp_path, {"u3HBJVjpXuw": str(long_video)}, output_dir="out\n touch PWNED-out")
    script = dry_run_script(tmp_path, notes, config)
    comments = [line for line in script.read_text().splitlines() if "touch PWNED #.md" in line]
    assert comments and all(line.startswith("# ") and "x\\ntouch PWNED #.md" in line for line in comments)

    ran = subprocess.run(["sh", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert not list(tmp_path.rglob("PWNED*"))
    assert len(list((tmp_path / "out\n touch PWNED-out").glob("*.mp4"))) == 1


def test_a_host_without_range_support_still_gives_the_clips(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes]
) -> None:
    from hosts import serve_host

    notes = two_clip_note(tmp_path)
    with serve_host(long_video.parent, no_range=True) as host:
        config = write_config(tmp_path, {"u3HBJVjpXuw": host.url(long_video.name)}, fetch="sections")
        result = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_whole(tmp_path / "out", long_thumbs, CLIPS)


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path: Path, server: Served) -> None:
    notes = two_clip_note(tmp_path)
    (tmp_path / "afile").write_text("not a folder\n")
    for output, reason in (("afile", "it is a file"), ("afile/sub", "Not a directory")):
        config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, output_dir=output)
        result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert result.stderr == f"{tmp_path / output}: cannot make the output folder ({reason})\n"
    assert (tmp_path / "afile").read_text() == "not a folder\n"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
@pytest.mark.parametrize("delay", [0.8, 2.5, 4.5])
def test_a_run_killed_outright_leaves_nothing_partial_and_no_ffmpeg_behind(
    tmp_path: Path, server: Served, long_thumbs: list[bytes], delay: float
) -> None:
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("slow/long.mp4")}, fetch="sections", jobs=1)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config)],
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(delay)
    process.kill()
    process.wait()
    finished = {path.name: path.stat().st_mtime_ns for path in out.glob("*.mp4") if not path.name.startswith(".")}
    deadline = time.monotonic() + 3
    while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_mentioning(str(tmp_path)) == []  # its ffmpeg died with it
    for name in finished:  # nothing half-written under a final name
        assert decode_errors(out / name) == "", name

    again = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert f"{2 - len(finished)} done, {len(finished)} skipped, 0 failed" in again.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in finished} == finished
    assert_whole(out, long_thumbs, CLIPS)
    assert sorted(path.name for path in out.iterdir() if path.name.startswith(".")) == [".clipper.lock"]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_ffmpeg_dies_with_a_clipper_that_is_killed_outright(tmp_path: Path, long_video: Path) -> None:
    # An 11-minute re-encode: ffmpeg would go on for seconds after its parent is gone.
    process = subprocess.Popen([sys.executable, "-m", "clipper", "cut", str(long_video), "0:10-11:00", "--mode",
                                "reencode", "-o", str(tmp_path / "k" / "x.mp4")], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while (
        not any(
            "ffmpeg" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
            for pid in processes_mentioning(str(tmp_path))
            if pid != process.pid
        )
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)  # fmt: skip
    time.sleep(0.5)
    process.kill()
    process.wait()
    time.sleep(0.5)
    assert processes_mentioning(str(tmp_path)) == []


def test_a_disk_that_fills_up_under_the_manifest_stops_the_run_cleanly(
    tmp_path: Path, long_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import threading

    from clipper.core.errors import ClipperError
    from clipper.run import manifest, pool
    from clipper.run.progress import Reporter

    notes = two_clip_note(tmp_path)
    config = load_config(write_config(tmp_path, {"u3HBJVjpXuw": str(long_video)}, jobs=1))
    note = parse_note(notes / "u3HBJVjpXuw.md")
    assert note is not None
    jobs, _ = plan_jobs([note], config)

    def full_disk(path: Path, data: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(manifest, "write_json_atomic", full_disk)
    threads_before = threading.active_count()
    with pytest.raises(ClipperError) as error:
        pool.Runner(config, Reporter()).run(jobs)
    assert (
        str(error.value)
        == f"{config.output_dir / 'manifest.json'}: No space left on device; stopped (finished clips kept)"
    )
    assert threading.active_count() <= threads_before  # no worker goes on
    leftovers = [path.name for path in config.output_dir.iterdir() if path.name.startswith(".")]
    assert leftovers == [".clipper.lock"]


@pytest.mark.parametrize("source", ["long", "one-second"])
def test_a_highlight_with_no_frame_fails_alone_and_the_others_are_made(
    tmp_path: Path, long_video: Path, long_thumbs: list[bytes], source: str
) -> None:
    from media import make_media

    notes = two_clip_note(tmp_path)
    note = notes / "u3HBJVjpXuw.md"
    note.write_text(note.read_text().replace("*0:38-1:35", "*0:38.0001-0:38.0002"))  # shorter than a frame
    media = long_video if source == "long" else make_media(tmp_path / "one.mp4", seconds=1, size="160x90")
    config = write_config(tmp_path, {"u3HBJVjpXuw": str(media)})

    dry = run_clipper("batch", str(notes), "--config", str(config), "--dry-run", cwd=tmp_path)
    result = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)

    assert "Traceback" not in dry.stderr + result.stderr
    assert "# cannot be cut: no video frame in the clip's range" in dry.stdout
    assert result.returncode == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("  failed ")]
    expected = ["u3HBJVjpXuw-0m38s.mp4"] + ([] if source == "long" else ["u3HBJVjpXuw-3m34s.mp4"])
    assert [line.split()[1] for line in failed] == expected
    reasons = ("no video frame in the clip's range", "starts past the end (0:38", "starts past the end (3:34)")
    assert all(any(reason in line for reason in reasons) for line in failed), failed
    if source == "long":
        assert_whole(tmp_path / "out", long_thumbs, {"u3HBJVjpXuw-3m34s.mp4": CLIPS["u3HBJVjpXuw-3m34s.mp4"]})


def test_terminal_escapes_in_a_note_are_shown_escaped(tmp_path: Path, long_video: Path) -> None:
    notes = two_clip_note(tmp_path)
    note = notes / "u3HBJVjpXuw.md"
    hostile = "\x1b]0;pwned\x07\x1b[2J"
    note.write_text(note.read_text().replace("LLMs are not learning", f"LLMs {hostile}are not learning", 1))
    config = write_config(tmp_path, {"u3HBJVjpXuw": str(long_video)}, naming="{title}")
    shown = run_clipper("plan", str(notes), "--config", str(config), cwd=tmp_path)
    made = run_clipper("-v", "batch", str(notes), "--config", str(config), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    for result in (shown, made):
        assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stdout + result.stderr
    assert "LLMs \\x1b]0;pwned\\x07\\x1b[2Jare not learning" in shown.stdout


def test_a_finished_clip_is_never_replaced_by_another_without_force(tmp_path: Path, long_video: Path) -> None:
    notes = two_clip_note(tmp_path)
    note = notes / "u3HBJVjpXuw.md"
    config = write_config(tmp_path, {"u3HBJVjpXuw": str(long_video)})
    made = run_clipper("batch", str(notes), "--config", str(config), "--no-gallery", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out"
    kept = out / "u3HBJVjpXuw-3m34s.mp4"
    stamps = {path.name: path.stat().st_mtime_ns for path in out.iterdir() if path.is_file() and
              path.name not in ("manifest.json", ".clipper.lock")}  # fmt: skip

    # Another range of highlight 2 is a clip of its own, named by its range, with its own captions.
    other = run_clipper("cut", str(note), "3:00-3:10", "--highlight", "2", "--config", str(config), cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert abs(duration_of(out / "u3HBJVjpXuw-3m00s.mp4") - 10.0) < 0.05
    assert (out / "u3HBJVjpXuw-3m00s.srt").is_file()
    assert {name: (out / name).stat().st_mtime_ns for name in stamps} == stamps  # nothing made before is touched

    # A clip under a name that another finished clip holds is refused, and made with --force.
    args = ["cut", str(note), "3:00-3:10", "--highlight", "2", "--config", str(config), "-o", str(kept)]
    refused = run_clipper(*args, cwd=tmp_path)
    assert refused.returncode == 1
    assert "u3HBJVjpXuw-3m34s.mp4 is there already and is another clip" in refused.stderr
    assert kept.stat().st_mtime_ns == stamps[kept.name]
    forced = run_clipper(*args, "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert abs(duration_of(kept) - 10.0) < 0.05


def one_clip_note(path: Path, video_id: str, time_range: str, output: str) -> Path:
    """A note with one highlight whose clip command names its file (``-o``)."""
    url = f"https://www.youtube.com/watch?v={video_id}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""---
video_id: {video_id}
title: "Video {video_id}"
url: {url}
---

## Highlights

### "A moment of {video_id}"

```bash
yt-dlp --download-sections "*{time_range}" "{url}" --force-keyframes-at-cuts --merge-output-format mp4 -o "{output}"
```
""")
    return path


def test_a_clip_of_another_note_under_the_same_name_is_never_skipped_as_this_one(
    tmp_path: Path, long_video: Path, short_video: Path, long_thumbs: list[bytes]
) -> None:
    """Two notes on two videos name their clips alike (``-o shared.mp4``), both 10 s long: the second note's run
    must not take the first note's clip for its own (skip it and record it as its clip). It fails with one line
    that names both notes, and the first clip, its captions and its record stay as they were."""
    note_a = one_clip_note(tmp_path / "a" / "first.md", "videoAAAAAA", "0:38-0:48", "shared.mp4")
    note_b = one_clip_note(tmp_path / "b" / "second.md", "videoBBBBBB", "0:05-0:15", "shared.mp4")
    config = write_config(tmp_path, {"videoAAAAAA": str(long_video), "videoBBBBBB": str(short_video)})
    first = run_clipper("batch", str(note_a), "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    manifest = (out / "manifest.json").read_text()
    stamps = {path.name: path.stat().st_mtime_ns for path in out.iterdir() if path.is_file()}
    line_a = json.loads(manifest)["clips"]["shared.mp4"]["line"]

    second = run_clipper("batch", str(note_b), "--config", str(config), cwd=tmp_path)

    assert second.returncode == 1
    [failure] = [line for line in second.stderr.splitlines() if line.startswith("  failed ")]
    assert failure == (f"  failed shared.mp4 ({note_b}:{line_a}): shared.mp4 is there already and is another clip "
                       f"({note_a}:{line_a}, videoAAAAAA 0:38-0:48; this one: videoBBBBBB 0:05-0:15): --force "
                       "replaces it, -o names this one")  # fmt: skip
    assert json.loads((out / "manifest.json").read_text())["clips"] == json.loads(manifest)["clips"]
    assert {name: stamps[name] for name in ("shared.mp4", "shared.srt", "shared.vtt") if name in stamps} == {
        name: (out / name).stat().st_mtime_ns for name in ("shared.mp4", "shared.srt", "shared.vtt") if name in stamps
    }
    assert_whole(out, long_thumbs, {"shared.mp4": (38.0, 48.0)})  # still the first note's clip
    assert "videoBBBBBB" not in (out / "index.md").read_text()

    # In one run, the clash is found before any work: the second of the two is refused, naming the first.
    both = run_clipper("batch", str(note_a), str(note_b), "--config", str(config), cwd=tmp_path)
    assert both.returncode == 1
    assert (f"{note_b}:{line_a}: clip shared.mp4 would overwrite the clip from {note_a}:{line_a} (videoAAAAAA "
            "38-48s)") in both.stderr  # fmt: skip
    assert "0 done, 1 skipped, 0 failed" in both.stderr
    assert_whole(out, long_thumbs, {"shared.mp4": (38.0, 48.0)})


def test_with_no_record_a_clip_is_told_from_another_by_its_tag(
    tmp_path: Path, long_video: Path, short_video: Path, long_thumbs: list[bytes]
) -> None:
    """manifest.json gone (deleted, or companions never written): a clip of the same name and length is still not
    taken for another note's clip. Its ``comment`` tag (the moment's URL) says which video and moment it is."""
    note_a = one_clip_note(tmp_path / "a" / "first.md", "videoAAAAAA", "0:38-0:48", "shared.mp4")
    note_b = one_clip_note(tmp_path / "b" / "second.md", "videoBBBBBB", "0:05-0:15", "shared.mp4")
    config = write_config(tmp_path, {"videoAAAAAA": str(long_video), "videoBBBBBB": str(short_video)})
    assert run_clipper("batch", str(note_a), "--config", str(config), cwd=tmp_path).returncode == 0
    out = tmp_path / "out"
    (out / "manifest.json").unlink()
    made = (out / "shared.mp4").stat().st_mtime_ns

    second = run_clipper("batch", str(note_b), "--config", str(config), cwd=tmp_path)

    assert second.returncode == 1
    [failure] = [line for line in second.stderr.splitlines() if line.startswith("  failed ")]
    assert failure.endswith("shared.mp4 is there already and is another clip (its tag: https://www.youtube.com/watch?"
                            "v=videoAAAAAA&t=38s; this one: https://www.youtube.com/watch?v=videoBBBBBB&t=5s): "
                            "--force replaces it, -o names this one"), failure  # fmt: skip
    assert (out / "shared.mp4").stat().st_mtime_ns == made
    assert_whole(out, long_thumbs, {"shared.mp4": (38.0, 48.0)})

    # Its own note finds it by the same tag: skipped, recorded again, not made again.
    again = run_clipper("batch", str(note_a), "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 done, 1 skipped, 0 failed" in again.stderr
    assert (out / "shared.mp4").stat().st_mtime_ns == made


@pytest.mark.parametrize(
    ("time_range", "message"),
    [("1:02:03-1:02:40", "starts past the end (1:02:03): the video lasts 11:40"),
     ("11:30-12:00", "ends past the end (12:00): the video lasts 11:40; the range 11:30-11:40 would fit")],
)  # fmt: skip
def test_a_range_past_the_end_is_one_line_before_any_work(
    tmp_path: Path, long_video: Path, time_range: str, message: str
) -> None:
    result = run_clipper("cut", str(long_video), time_range, "-o", str(tmp_path / "c" / "x.mp4"), cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "re-encoding" not in result.stderr
    assert not (tmp_path / "c" / "x.mp4").exists()


def test_cut_into_the_current_folder_leaves_only_the_clip_and_its_captions(tmp_path: Path, short_video: Path) -> None:
    result = run_clipper("cut", str(short_video), "0:05-0:07", "-o", "x.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [".clipper.lock", "x.mp4"]  # no manifest, posters
    wrong = run_clipper("cut", str(short_video), "0:05-0:07", "-o", "x.txt", cwd=tmp_path)
    assert wrong.returncode == 2 and "x.txt: a clip is .mp4, .m4a" in wrong.stderr
    note = run_clipper("cut", str(EXAMPLE_NOTE), cwd=tmp_path)
    assert note.returncode == 2 and "a note as SOURCE needs --highlight N" in note.stderr
    (tmp_path / "empty.yaml").write_text(f"cache_dir: {json.dumps(str(tmp_path / 'cache'))}\n")
    empty = run_clipper("cache", "list", "--config", str(tmp_path / "empty.yaml"), cwd=tmp_path)
    assert empty.returncode == 0 and "the cache is empty" in empty.stderr


def test_ctrl_c_stops_a_run_even_when_sigint_was_ignored_by_its_parent(tmp_path: Path, server: Served) -> None:
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("slow/long.mp4")}, fetch="sections", jobs=1)
    process = subprocess.Popen([sys.executable, "-m", "clipper", "batch", str(notes), "--config", str(config)],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "out").glob(".clipper-*.section.mp4")):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr


def test_temporary_names_differ_from_run_to_run(tmp_path: Path, short_video: Path) -> None:
    def temporary_names() -> set[str]:
        result = run_clipper("-v", "cut", str(short_video), "0:05-0:07", "-o", "c/x.mp4", "--force", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return {word for word in result.stderr.split() if "/.x.mp4." in word or "/.clipper-" in word}

    first, second = temporary_names(), temporary_names()
    assert first and second and not first & second  # nothing can be planted at a name known beforehand


@pytest.mark.parametrize("fetch", ["sections", "full"])
def test_a_host_that_does_not_exist_is_one_line_with_the_whole_url_and_no_retries(tmp_path: Path, fetch: str) -> None:
    url = "http://no-such-host.invalid/talks/v.mp4"  # .invalid never resolves (RFC 2606): no network is asked
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": url}, fetch=fetch, retries=3, cache_dir=str(tmp_path / "cache"))
    result = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "retrying" not in result.stderr and "again" not in result.stderr, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("  failed")]
    assert len(failures) == 1, result.stderr
    assert f"{url}: the host cannot be found (" in failures[0], result.stderr


def test_cut_names_a_url_whole_when_its_host_does_not_exist(tmp_path: Path) -> None:
    url = "https://no-such-host.invalid/v.mp4"
    result = run_clipper("cut", url, "0:01-0:03", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "retrying" not in result.stderr, result.stderr
    assert f"of {url}:" in result.stderr and f"{url}: the host cannot be found" in result.stderr, result.stderr
    assert "https:/no-such-host" not in result.stderr.replace("https://", ""), result.stderr


@pytest.mark.parametrize("redirected", ["every request", "media reads"])
def test_a_notes_public_host_that_redirects_to_a_private_address_is_refused_naming_the_note(
    tmp_path: Path, long_video: Path, monkeypatch: pytest.MonkeyPatch, redirected: str
) -> None:
    from click.testing import CliRunner

    from clipper.cli.main import cli
    from clipper.policy import addresses

    notes = tmp_path / "notes"
    notes.mkdir()
    with serve_host(long_video.parent) as page, serve_host(long_video.parent) as private:
        # The page's host stands in for a public one (no DNS here: it is on 127.0.0.1 too, and taken for public in
        # this process only); where it sends clipper is what is checked.
        monkeypatch.setattr(addresses, "PRETEND_PUBLIC", {("127.0.0.1", page.port)})
        page.redirects["/long.mp4"] = private.url("long.mp4")
        page.redirect_ranges_only = redirected == "media reads"  # yt-dlp's look at the file gets it, ffmpeg's reads not
        url = page.url("long.mp4")
        text = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0]
        text = text.replace("url: https://www.youtube.com/watch?v=u3HBJVjpXuw", f"url: {url}")
        (notes / "x.md").write_text(text.replace('"https://www.youtube.com/watch?v=u3HBJVjpXuw"', f'"{url}"'))
        config = tmp_path / "clipper.yaml"
        config.write_text("output_dir: out\nretry_delay: 0.1\nfetch: sections\n")

        result = CliRunner().invoke(cli, ["batch", str(notes), "--config", str(config)])
        redirects = [seen for seen in page.gets() if seen.status == 302]

        assert redirects, "the page never redirected: the test did not test anything"
        assert private.gets() == []  # nothing was asked of the private address
        assert result.exit_code == 1, result.output
        failures = [line for line in result.stderr.splitlines() if line.startswith("  failed")]
        assert len(failures) == 1, result.stderr
        assert f"{notes / 'x.md'}:35: " in failures[0], failures
        assert "refused to connect to 127.0.0.1: not a public address" in failures[0], failures
        assert "retrying" not in result.stderr, result.stderr

        # The same redirect to a host taken for public is followed: the refusal was the address's.
        monkeypatch.setattr(addresses, "PRETEND_PUBLIC", {("127.0.0.1", page.port), ("127.0.0.1", private.port)})
        result = CliRunner().invoke(cli, ["batch", str(notes), "--config", str(config)])
        assert result.exit_code == 0, result.stderr
        assert private.gets()


def test_the_users_own_requests_follow_a_redirect_anywhere_and_a_notes_do_not(
    long_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clipper.fetch import netguard, youtubedl, ytdlp_argv
    from clipper.policy import addresses

    with serve_host(long_video.parent) as page, serve_host(long_video.parent) as private:
        monkeypatch.setattr(addresses, "PRETEND_PUBLIC", {("127.0.0.1", page.port)})
        page.redirects["/long.mp4"] = private.url("long.mp4")
        session = youtubedl.Session(ytdlp_argv.session_argv())
        try:
            with netguard.only_public(), pytest.raises(Exception, match=r"refused to connect to 127\.0\.0\.1"):
                session.open(page.url("long.mp4"), {"Range": "bytes=0-99"})
            assert private.gets() == [] and page.gets()
            response = session.open(page.url("long.mp4"), {"Range": "bytes=0-99"})  # as for a `sources:` entry
            assert response.status == 206 and len(response.read(200)) == 100
            response.close()
            assert len(private.gets()) == 1
        finally:
            session.close()


@pytest.mark.parametrize("host_name", ["127.0.0.1", "localhost", "this machine's name"])
def test_a_notes_private_address_is_refused_in_full_mode_and_a_users_own_source_there_is_fetched_whole(
    tmp_path: Path, server: Served, long_video: Path, long_thumbs: list[bytes], host_name: str
) -> None:
    """``--fetch full`` downloads into the cache: a note's URL on a loopback address is refused there too, naming
    the note's line, before anything is asked of it or kept; in the same batch the user's own ``sources:`` entry
    on 127.0.0.1 is downloaded whole and cut."""
    if host_name == "this machine's name":
        host_name = socket.gethostname()
        addresses = {info[4][0] for info in socket.getaddrinfo(host_name, None, proto=socket.IPPROTO_TCP)}
        if all(ipaddress.ip_address(address).is_global for address in addresses):
            pytest.skip(f"{host_name} resolves to a public address here: {addresses}")
    notes = two_clip_note(tmp_path)
    cache = tmp_path / "cache"
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, cache_dir=str(cache))
    with serve_host(long_video.parent) as private:
        url = private.url("long.mp4").replace("127.0.0.1", host_name)
        text = EXAMPLE_NOTE.read_text().split('### "Pretraining')[0].replace("u3HBJVjpXuw", "privateNote")
        text = text.replace("url: https://www.youtube.com/watch?v=privateNote", f"url: {url}")
        (notes / "private.md").write_text(text.replace('"https://www.youtube.com/watch?v=privateNote"', f'"{url}"'))

        result = run_clipper("batch", str(notes), "--config", str(config), "--fetch", "full", cwd=tmp_path)

        assert private.gets() == []  # nothing was asked of the note's address
    assert result.returncode == 1, result.stderr
    why = {"127.0.0.1": "127.0.0.1 is not a public address (", "localhost": "localhost is not a public host ("}
    if host_name in why:  # judged from the note alone, before the run
        refused = [line for line in result.stderr.splitlines() if "private.md" in line]
        assert refused == [f"{notes / 'private.md'}:35: {why[host_name]}a `sources:` entry in the config may point "
                           "a video there)"], result.stderr  # fmt: skip
    else:  # looked up when its download was due: the download is refused
        failures = [line for line in result.stderr.splitlines() if line.startswith("  failed privateNote")]
        assert len(failures) == 1, result.stderr
        assert f"{notes / 'private.md'}:35: {host_name} resolves to " in failures[0], failures
        assert "not a public address" in failures[0], failures
    assert "Traceback" not in result.stderr
    assert "u3HBJVjpXuw: full: " in result.stderr, result.stderr
    assert [path.name.split("-")[0] for path in cache.iterdir()] == ["u3HBJVjpXuw"]  # the note's: nothing kept
    assert sorted(path.name for path in (tmp_path / "out").glob("*.mp4")) == sorted(CLIPS)
    assert_whole(tmp_path / "out", long_thumbs, CLIPS)


def test_links_at_the_lock_manifest_and_gallery_are_refused_or_replaced_never_written_through(
    tmp_path: Path, server: Served, long_thumbs: list[bytes]
) -> None:
    """Whoever can write the output folder may leave links at the names clipper writes there. The lock is
    refused in one line naming it (a link, another name of a file, a folder or a pipe is no run's lock); the
    manifest and the gallery's pages are replaced by files of their own, whole. What the links lead to (outside
    the folder) is never touched."""
    notes = two_clip_note(tmp_path)
    config = write_config(tmp_path, {"u3HBJVjpXuw": server.url("long.mp4")}, fetch="sections")
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    victims = {name: outside / name for name in (".clipper.lock", "manifest.json", "index.html", "index.md")}
    for name, victim in victims.items():
        victim.write_bytes(f"precious {name}\n".encode())
    missing = outside / "missing"  # a link that leads nowhere must not make a file there either

    def untouched() -> None:
        assert {name: victim.read_bytes() for name, victim in victims.items()} == {
            name: f"precious {name}\n".encode() for name in victims
        }
        assert sorted(path.name for path in outside.iterdir()) == sorted(victims)

    lock = out / ".clipper.lock"
    link = "is a symbolic link: clipper will not write through it"
    hard_link = "has other names (hard links): clipper will not write through it"
    planted = [
        (lambda: lock.symlink_to(victims[".clipper.lock"]), link),
        (lambda: lock.symlink_to(missing), link),
        # Another name of a file outside: the lock's bytes (the holder's pid) would be written into it.
        (lambda: os.link(victims[".clipper.lock"], lock), hard_link),
        (lambda: lock.mkdir(), "is not a plain file: clipper will not take it for its lock"),
    ]
    if hasattr(os, "mkfifo"):
        planted.append((lambda: os.mkfifo(lock), "is not a plain file: clipper will not take it for its lock"))
    for plant, problem in planted:
        plant()
        refused = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.strip().splitlines()[-1] == f"clipper: {lock} {problem} (remove it)", refused.stderr
        assert "Traceback" not in refused.stderr
        assert list(out.glob("*.mp4")) == []
        untouched()
        if lock.is_dir() and not lock.is_symlink():
            lock.rmdir()
        else:
            lock.unlink()

    for name in ("manifest.json", "index.html"):
        (out / name).symlink_to(victims[name])
    (out / "index.md").symlink_to(missing)

    made = run_clipper("batch", str(notes), "--config", str(config), cwd=tmp_path)

    assert made.returncode == 0, made.stderr
    untouched()
    assert_whole(out, long_thumbs, CLIPS)
    for name in ("manifest.json", "index.html", "index.md"):
        assert (out / name).is_file() and not (out / name).is_symlink(), name
    assert sorted(json.loads((out / "manifest.json").read_text())["clips"]) == sorted(CLIPS)
    assert all(name in (out / "index.html").read_text() for name in CLIPS)
    assert not lock.is_symlink()

    # The gallery alone: links planted at its pages again are replaced the same way.
    (out / "index.html").unlink()
    (out / "index.html").symlink_to(missing)
    (out / "index.md").unlink()
    (out / "index.md").symlink_to(victims["index.md"])

    gallery = run_clipper("gallery", str(out), cwd=tmp_path)

    assert gallery.returncode == 0, gallery.stderr
    untouched()
    for name in ("index.html", "index.md"):
        assert (out / name).is_file() and not (out / name).is_symlink(), name
    assert all(name in (out / "index.md").read_text() for name in CLIPS)

    # A folder where the page goes cannot be replaced: one line naming it.
    (out / "index.html").unlink()
    (out / "index.html").mkdir()
    blocked = run_clipper("gallery", str(out), cwd=tmp_path)
    assert blocked.returncode == 1, blocked.stderr
    assert blocked.stderr.startswith(f"{out / 'index.html'}: ") and blocked.stderr.count("\n") == 1, blocked.stderr
    assert sorted(path.name for path in out.iterdir() if path.name.startswith(".index")) == []
