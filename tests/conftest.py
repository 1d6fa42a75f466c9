"""Session fixtures: media made with ffmpeg's lavfi sources, served from 127.0.0.1 with Range support."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from media import make_media, serve
from verify import thumbnails

pytest_plugins = ["redisd"]  # the queue tests' redis-server, media host and workers

EXAMPLE_NOTE = Path(__file__).parent / "u3HBJVjpXuw.md"
FPS = 25.0


@dataclass
class Served:
    base: str
    folder: Path
    handler: type

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"

    @property
    def requests(self) -> list:
        return self.handler.requests  # type: ignore[attr-defined]


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Whole downloads go to a cache of the test session's own, never to the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    with _environment("XDG_CACHE_HOME", str(folder)):
        yield folder


@pytest.fixture(scope="session", autouse=True)
def private_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's own config (~/.config/clipper) is never read by the tests: they get an empty one of their own."""
    folder = tmp_path_factory.mktemp("xdg-config")
    with _environment("XDG_CONFIG_HOME", str(folder)):
        yield folder


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.fail("ffmpeg and ffprobe are needed for these tests (apt-get install ffmpeg)")
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def long_video(media_dir: Path) -> Path:
    """12 minutes (the example note's clips reach 11:35), 25 fps, a keyframe every 2 s, AAC beeps."""
    return make_media(media_dir / "long.mp4", seconds=700, size="160x90", gop=50, extra=["-crf", "32", "-b:a", "48k"])


@pytest.fixture(scope="session")
def long_thumbs(long_video: Path) -> list[bytes]:
    return thumbnails(long_video)


@pytest.fixture(scope="session")
def short_video(media_dir: Path) -> Path:
    """30 s, 25 fps, keyframe every 2 s."""
    return make_media(media_dir / "short.mp4", seconds=30, size="160x90", gop=50)


@pytest.fixture(scope="session")
def short_thumbs(short_video: Path) -> list[bytes]:
    return thumbnails(short_video)


@pytest.fixture(scope="session")
def server(media_dir: Path, long_video: Path, short_video: Path) -> Iterator[Served]:
    with serve(media_dir) as (base, handler):
        yield Served(base, media_dir, handler)
