"""Every context string is distinct, prefix-free once terminated, and listed in the spec."""

from __future__ import annotations

import re
from pathlib import Path

from vault import labels

SPEC = Path(__file__).resolve().parents[2] / "docs" / "format.md"


def spec_labels() -> list[bytes]:
    section = SPEC.read_text(encoding="utf-8").split("## 12. Labels", 1)[1].split("\n## ", 1)[0]
    return [m.encode() for m in re.findall(r"^\| `(kluis/v1/[a-z0-9/-]+)` \|", section, re.M)]


def test_labels_are_distinct() -> None:
    assert len(set(labels.ALL)) == len(labels.ALL)


def test_no_label_is_a_prefix_of_another_once_terminated() -> None:
    terminated = [label + b"\x00" for label in labels.ALL]
    for a in terminated:
        for b in terminated:
            assert a == b or not b.startswith(a)


def test_every_label_is_ascii_and_versioned() -> None:
    for label in labels.ALL:
        assert label.isascii() and label.startswith(b"kluis/v1/")


def test_the_spec_lists_exactly_the_labels_the_code_uses() -> None:
    assert sorted(spec_labels()) == sorted(labels.ALL)


def test_every_module_constant_is_in_the_list() -> None:
    constants = {v for k, v in vars(labels).items() if k.isupper() and isinstance(v, bytes)}
    assert constants == set(labels.ALL)
