"""End to end: a manifest.json edited by hand (or by anyone who can write the folder) with values of the wrong
type. ``clipper list``, ``clipper gallery`` and the gallery a batch makes at its end skip each bad entry with one
line naming manifest.json and the entry, never a traceback; a batch's own clips are fine (exit 0), ``list`` and
``gallery`` exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from media import make_media
from verify import run_clipper

from clipper.run import gallery
from clipper.run.outputs import MANIFEST_NAME, usable_entries

pytestmark = pytest.mark.slow

NAME = "clip.mp4"
# Each field clipper reads from an entry, with a value of the wrong type.
WRONG: list[tuple[str, Any]] = [
    ("start", "x"), ("end", [1]), ("note_start", {}), ("note_end", True), ("duration", "2"), ("duration", 1e400),
    ("size", "big"), ("size", 1.5), ("width", "160"), ("height", [90]), ("line", "3"), ("status", 1),
    ("video_id", ["a"]), ("title", {"a": 1}), ("quote", 3), ("speaker", []), ("video_title", 1.0), ("channel", 2),
    ("moment_url", ["https://example.com"]), ("upload_date", 20250101), ("note", []), ("tags", "ab"),
    ("tags", [1, 2]), ("captions", ["a.vtt"]), ("captions", {"vtt": 3}), ("file", "x"), ("file", {"size": "1"}),
    ("snap", [1]), ("settings", "x"), ("loudness", 3), ("metadata", []), ("output", 3),
]  # fmt: skip


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a note whose one clip is made (and its manifest and gallery)."""
    folder = tmp_path_factory.mktemp("manifest")
    source = make_media(folder / "source.mp4", seconds=4, size="160x90")
    url = "https://www.youtube.com/watch?v=manifest000"
    (folder / "note.md").write_text(f'---\nvideo_id: manifest000\ntitle: "A note"\nurl: {url}\n---\n\n## Highlights\n\n'
                                    f'### "A moment"\n\n```bash\nyt-dlp --download-sections "*0:01-0:02" "{url}" '
                                    f'-o "{NAME}"\n```\n')  # fmt: skip
    (folder / "clipper.yaml").write_text(f"output_dir: out\nsources:\n  manifest000: {json.dumps(str(source))}\n")
    result = run_clipper("batch", str(folder / "note.md"), "--config", str(folder / "clipper.yaml"), cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def tamper(made: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the made folder whose manifest holds, beside the good entry, one entry per wrong value (and
    entries that are no mapping at all); the names of the tampered entries -> the field said wrong."""
    folder = tmp_path / "copy"
    shutil.copytree(made, folder)
    path = folder / "out" / MANIFEST_NAME
    manifest = json.loads(path.read_text())
    clips = manifest["clips"]
    good = clips[NAME]
    names: dict[str, str] = {}
    for number, (field, value) in enumerate(WRONG):
        name = f"t{number}-{field}.mp4"
        shutil.copy(folder / "out" / NAME, folder / "out" / name)
        clips[name] = {**good, "output": name, field: value}
        names[name] = field if field != "output" else "output"
    for number, value in enumerate([[1, 2], "text", 3, None]):
        clips[f"bare{number}.mp4"] = value
        names[f"bare{number}.mp4"] = "not a mapping"
    path.write_text(json.dumps(manifest).replace("1e+400", "1e400"))
    return folder, names


def assert_one_line_each(stderr: str, path: Path, names: dict[str, str]) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(f"{path}: entry ")]
    for name in names:
        said = [line for line in lines if line.startswith(f"{path}: entry {name!r} skipped: ")]
        assert len(said) == 1, (name, stderr)
    assert len(lines) == len(names), stderr


def test_list_and_gallery_skip_each_entry_of_the_wrong_type_with_one_line(made: Path, tmp_path: Path) -> None:
    folder, names = tamper(made, tmp_path)
    out = folder / "out"

    listed = run_clipper("list", str(out), cwd=folder)
    shown = run_clipper("list", str(out), "--json", cwd=folder)
    page = run_clipper("gallery", str(out), cwd=folder)

    for result in (listed, shown, page):
        assert result.returncode == 1, result.stderr
        assert_one_line_each(result.stderr, out / MANIFEST_NAME, names)
    assert NAME in listed.stdout and not any(name in listed.stdout for name in names), listed.stdout
    assert [entry["output"] for entry in json.loads(shown.stdout)] == [NAME]
    html = (out / "index.html").read_text()
    assert NAME in html and not any(name in html for name in names)


def test_a_batch_ends_with_its_gallery_and_one_line_per_tampered_entry(made: Path, tmp_path: Path) -> None:
    folder, names = tamper(made, tmp_path)
    kept = {name: field for name, field in names.items() if field != "not a mapping"}  # the run keeps mappings

    result = run_clipper("batch", str(folder / "note.md"), "--config", str(folder / "clipper.yaml"), cwd=folder)

    assert result.returncode == 0, result.stderr  # its own clip is fine: the entries are a warning
    assert "clipper: 0 done, 1 skipped, 0 failed" in result.stderr, result.stderr
    assert_one_line_each(result.stderr, folder / "out" / MANIFEST_NAME, kept)
    assert "clipper: gallery " in result.stderr


@pytest.mark.parametrize(
    "text",
    ['[{"output": "clip.mp4"}]', '{"version": 1, "clips": [1]}', '"clips"', "{",
     '{"clips": ' + "[" * 200_000 + "]" * 200_000 + "}"],  # nested deeper than Python's stack
    ids=["list", "list of clips", "string", "not JSON", "nested too deep"],
)  # fmt: skip
def test_a_manifest_of_another_shape_is_one_line(made: Path, tmp_path: Path, text: str) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(made, folder)
    (folder / "out" / MANIFEST_NAME).write_text(text)

    for command in ("list", "gallery"):
        result = run_clipper(command, str(folder / "out"), cwd=folder)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
        assert f"{MANIFEST_NAME}: is not a manifest clipper wrote" in result.stderr, result.stderr


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)  # fmt: skip
FIELDS = [
    "output",
    "status",
    "video_id",
    "title",
    "start",
    "end",
    "duration",
    "size",
    "width",
    "height",
    "tags",
    "captions",
    "quote",
    "speaker",
    "video_title",
    "channel",
    "moment_url",
    "upload_date",
    "note",
    "line",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6) | JSON)
def test_any_entry_that_passes_the_check_makes_a_gallery(tmp_path: Path, entry: Any) -> None:
    """Whatever an entry holds: either it is skipped with a reason, or the gallery and list can show it."""
    if isinstance(entry, dict):
        entry.setdefault("output", NAME)
    usable, problems = usable_entries(tmp_path, {NAME: entry})
    assert len(usable) + len(problems) == 1
    for shown in usable.values():
        gallery.gallery_html([shown], {}, {})
        gallery.gallery_markdown([shown])
        sorted([shown, shown], key=lambda item: (str(item.get("video_id")), float(item.get("start") or 0)))
