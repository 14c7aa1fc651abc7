"""No ``assert`` as a guard in production code (gedeeld/, services/, deploy/).

``python -O`` strips assert statements, so a guard written as one silently disappears; and an
``AssertionError`` is not part of the error tree (gedeeld/fouten.py), so callers cannot catch it
as a family and the gRPC mapping turns it into INTERNAL. Ruff's S101 flags the same statements
in ``make lint``; this test also runs with pytest and cannot be silenced with ``# noqa``.
Generated protobuf code (``*_pb2*.py``) is not ours and is skipped.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("gedeeld", "services", "deploy")


def asserts_in(source: str, filename: str) -> list[int]:
    """Line numbers of every ``assert`` statement in ``source``."""
    tree = ast.parse(source, filename=filename)
    return sorted(node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert))


def production_files() -> list[Path]:
    files = []
    for top in PRODUCTION:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "_pb2" in path.name or "__pycache__" in path.parts:
                continue
            files.append(path)
    return files


def test_production_code_has_no_assert() -> None:
    found: dict[str, list[int]] = {}
    for path in production_files():
        lines = asserts_in(path.read_text(encoding="utf-8"), str(path))
        if lines:
            found[path.relative_to(ROOT).as_posix()] = lines
    assert found == {}, "raise an error from gedeeld/fouten.py instead of assert"


def test_the_walk_covers_the_production_packages() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in production_files()}
    # One known module of each package, and no generated code.
    assert {"gedeeld/fouten.py", "services/node/opstart.py", "deploy/demo.py"} <= names
    assert not any("_pb2" in n for n in names)
    assert "gedeeld/zvh/v1/__init__.py" in names  # the hand-written package marker is still checked


def test_the_check_finds_an_assert_wherever_it_is() -> None:
    guard = (
        "async def f(x: int | None) -> int:\n"
        "    if x:\n"
        "        class C:\n"
        "            def g(self) -> None:\n"
        "                assert x is not None, 'nested'\n"
        "    assert x is not None\n"
        "    return x\n"
    )
    assert asserts_in(guard, "guard.py") == [5, 6]
    # Words that merely look like it are no statements.
    assert asserts_in("x = 'assert y'\n# assert z\ndef assert_ok() -> None: ...\n", "ok.py") == []
