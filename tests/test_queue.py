"""The queue's pure parts: broker URLs, host limits, and a clip job as a message and back (every field checked)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from clipper.core.errors import ConfigError
from clipper.notes.transcript import TranscriptLine
from clipper.plan.config import Config, load_config
from clipper.plan.jobs import ClipJob, Cue
from clipper.plan.queue_keys import broker_problem, limit_for, shown_url
from clipper.queue.messages import MessageError, clip_message, read_message, read_result, result_data
from clipper.run.manifest import ClipResult, manifest_entry


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://127.0.0.1:6379/0", None),
        ("redis://queue.example", None),
        ("rediss://user:secret@queue.example:6380/2", None),
        ("unix:///run/redis.sock", None),
        ("http://127.0.0.1:6379/0", "not a Redis URL: use redis://HOST:PORT/DB (or rediss://, unix://PATH)"),
        ("redis://", "no host in the URL: use redis://HOST:PORT/DB"),
        ("redis://host:notaport/0", "not a broker URL (Port could not be cast to integer value as 'notaport')"),
        ("redis://host:6379/zero", "the database must be a number, not 'zero'"),
        ("unix://", "unix:// needs the socket's path"),
    ],
)
def test_broker_urls(url: str, problem: str | None) -> None:
    assert broker_problem(url) == problem


def test_a_broker_password_is_never_shown() -> None:
    assert shown_url("redis://:hunter2@q.example:6379/0") == "redis://:***@q.example:6379/0"
    assert shown_url("redis://me:hunter2@q.example/0") == "redis://me:***@q.example/0"
    assert shown_url("redis://q.example/0") == "redis://q.example/0"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("https://www.youtube.com/watch?v=x", ("youtube.com", 2)),
        ("https://youtube.com/watch?v=x", ("youtube.com", 2)),
        ("https://m.YouTube.com./watch?v=x", ("youtube.com", 2)),
        ("https://rr3.googlevideo.com/x", ("rr3.googlevideo.com", 1)),
        ("https://notyoutube.com/x", None),
        ("http://127.0.0.1:8000/a.mp4", ("127.0.0.1", 3)),
        ("/home/me/talk.mp4", None),
    ],
)
def test_a_source_falls_under_its_hosts_limit_or_its_parent_domains(source: str, found: object) -> None:
    limits = {"youtube.com": 2, "rr3.googlevideo.com": 1, "127.0.0.1": 3}
    assert limit_for(source, limits) == found


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("broker: http://x/\n", 1, "broker http://x/: not a Redis URL"),
        ("jobs: 2\nhost_limits: {youtube.com: 0}\n", 2, "host_limits.youtube.com must be a whole number from 1"),
        ("host_limits: {youtube.com: two}\n", 1, "host_limits.youtube.com must be a whole number"),
        ("host_limits: {a/b: 1}\n", 1, "host_limits: 'a/b' is not a host name"),
        ("host_limits: [youtube.com]\n", 1, "host_limits must be a mapping, not a list"),
        ("queue_heartbeat: 0.1\n", 1, "queue_heartbeat must be seconds from 1 to 3600, not 0.1"),
    ],
)
def test_bad_queue_settings_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert raised.value.line == line
    assert message in raised.value.message


def _job(**changes: object) -> ClipJob:
    job = ClipJob(video_id="abc", url="https://www.youtube.com/watch?v=abc", source="http://127.0.0.1:1/a.mp4",
                  title="A title", start=1.5, end=4.0, output="abc-0m01s.mp4", note=Path("/notes/abc.md"), line=12,
                  quote="words", speaker="Ann", format_sort=("res:720",), video_duration=30.0, tags=("a", "b"),
                  captions=(Cue(0.0, 1.0, "hi"),), transcript=(TranscriptLine(1.0, "hi", 40),),
                  note_range=(1.0, 4.5), snap_reasons=("pause", "kept"))  # fmt: skip
    return replace(job, **changes)  # type: ignore[arg-type]


def _config(tmp_path: Path) -> Config:
    return replace(Config(), output_dir=tmp_path / "out", sources=MappingProxyType({"abc": "http://127.0.0.1:1/a.mp4"}),
                   host_limits=MappingProxyType({"youtube.com": 2}), yt_dlp_args=("--limit-rate", "1M"),
                   broker="redis://127.0.0.1:1/0", run_tag="local")  # fmt: skip


def test_a_job_and_its_settings_come_back_from_a_message_as_they_went(tmp_path: Path) -> None:
    job, config = _job(), _config(tmp_path)
    data = json.loads(json.dumps(clip_message(job, config, "run1")))  # what the broker carries: JSON

    message = read_message(data)

    assert message.run == "run1"
    assert message.job == job
    assert message.config == replace(config, run_tag="")  # the worker's attempts mark their own files
    assert isinstance(message.job.note, Path)
    assert read_message(json.loads(json.dumps(clip_message(_job(note="https://x/y"), config, "r")))).job.note == (
        "https://x/y"
    )  # a URL given to `cut` stays text


def test_a_result_comes_back_with_the_worker_that_made_it(tmp_path: Path) -> None:
    result = ClipResult(_job(), "done", duration=2.5, size=1234, mode="smart", fetch="sections",
                        file={"size": 1234, "sha256": "ab"}, loudness=None, width=160, height=90)  # fmt: skip
    back = read_result(json.loads(json.dumps(result_data(result, "host:42"))))
    assert back == replace(result, worker="host:42")
    entry = manifest_entry(back, _config(tmp_path))
    assert entry["worker"] == "host:42"
    assert "worker" not in manifest_entry(result, _config(tmp_path))  # a local run's entries are as they were
    json.dumps(entry)  # a manifest entry holds plain JSON (no mapping proxies)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "the message is of version 2; this worker reads version 1"),
        (lambda d: d.update(run="../x"), "the message names no run"),
        (lambda d: d["job"].update(start="1.5"), "message field job.start: '1.5' is not a float"),
        (lambda d: d["job"].update(output="../../etc/x.mp4"), "the clip's name cannot be used: is a path"),
        (lambda d: d["job"].update(output=".hidden.mp4"), "the clip's name cannot be used: is hidden"),
        (lambda d: d["job"].update(shell="rm -rf /"), "message field job: unknown shell"),
        (lambda d: d["config"].update(output_dir={"path": "relative"}), "the output folder is not absolute"),
        (lambda d: d["config"].update(yt_dlp_args=["--exec", "touch /tmp/x"]), "the message's settings: --exec"),
        (lambda d: d["config"].update(mode="fast"), "the message's settings: mode must be one of"),
        (lambda d: d["config"].update(jobs=True), "message field config.jobs: True is not a int"),
    ],
)
def test_a_message_a_worker_cannot_trust_is_refused_with_the_reason(tmp_path: Path, change: object,
                                                                    message: str) -> None:  # fmt: skip
    data = json.loads(json.dumps(clip_message(_job(), _config(tmp_path), "run1")))
    change(data)  # type: ignore[operator]
    with pytest.raises(MessageError) as raised:
        read_message(data)
    assert message in raised.value.message
