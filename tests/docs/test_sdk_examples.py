"""The examples of docs/sdk.md run, in order, against a real `python -m server` on loopback.

Every ```python block of the document is executed in one shared namespace, top to bottom, as a
reader would paste them into one session; a block that raises (its own `assert`s included)
fails the test and names the block. The server address reaches the examples the way the
document says a reader gives it: the environment variable KLUIS_SERVER.
"""

from __future__ import annotations

import linecache
import re
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_sdk.localserver import LocalServer

SDK_DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#+ (.*)$", re.MULTILINE)


def python_blocks(text: str) -> list[tuple[str, str]]:
    """(the heading the block stands under, the block's code) for every ```python block."""
    blocks = []
    for match in BLOCK.finditer(text):
        headings = HEADING.findall(text, 0, match.start())
        blocks.append((headings[-1] if headings else "(top)", match.group(1)))
    return blocks


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    with LocalServer(tmp_path / "server-data") as running:
        yield running


def test_the_extractor_finds_blocks_and_their_headings() -> None:
    text = "# A\n\n```python\nx = 1\n```\n\n## B\n\n```sh\nls\n```\n\n```python\ny = 2\n```\n"
    assert python_blocks(text) == [("A", "x = 1\n"), ("B", "y = 2\n")]


def test_sdk_examples_run_in_order_against_a_real_server(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = python_blocks(SDK_DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 10, "docs/sdk.md lost its examples"
    monkeypatch.setenv("KLUIS_SERVER", server.url)
    monkeypatch.chdir(tmp_path)  # where the examples write their files
    namespace: dict[str, object] = {"__name__": "sdk_examples"}
    for number, (heading, code) in enumerate(blocks, start=1):
        name = f"docs/sdk.md block {number}"
        linecache.cache[name] = (len(code), None, code.splitlines(keepends=True), name)
        try:
            exec(compile(code, name, "exec"), namespace)  # noqa: S102
        except Exception:
            pytest.fail(
                f"docs/sdk.md, block {number} (under {heading!r}) failed:\n"
                f"{traceback.format_exc()}",
                pytrace=False,
            )
