"""The house's shape: stage subpackages, small rooms (issue 19's limits), read from the source with ``ast``.

A newcomer should see the pipeline in the listing of clipper/ and find any function on one screen. The import
rules between the stages are import-linter's contracts in pyproject.toml (run by .ci/run as ``lint-imports``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clipper"
STAGES = {"core", "policy", "notes", "plan", "fetch", "media", "share", "run", "queue", "cli"}
MAX_TOP_MODULES = 6
MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 80
MODULES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def test_the_top_level_holds_the_stages_and_at_most_six_modules() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == STAGES


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_module_class_and_function_is_small(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    too_big = []
    if len(source.splitlines()) > MAX_MODULE_LINES:
        too_big.append(f"the module has {len(source.splitlines())} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(source)):
        limit = {ast.ClassDef: MAX_CLASS_LINES, ast.FunctionDef: MAX_FUNCTION_LINES,
                 ast.AsyncFunctionDef: MAX_FUNCTION_LINES}.get(type(node))  # fmt: skip
        if limit is not None:
            assert isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                too_big.append(f"{node.name} (line {node.lineno}) has {lines} lines (at most {limit})")
    assert not too_big, f"{_name(path)}: " + "; ".join(too_big)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("__init__.py")), ids=_name)
def test_every_package_says_what_its_stage_does(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{_name(path)} has no docstring"
