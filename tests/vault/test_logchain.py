"""The access-log chain (docs/format.md section 16): its vectors and what a checker rejects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from vault import errors
from vault.logchain import GENESIS_HASH, entry_hash, verify_chain

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("accesslog-*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    assert v["structure"] == "accesslog" and v["description"]
    if v["expect"] == "success":
        verify_chain(v["entries"])
        prev = GENESIS_HASH
        for entry in v["entries"]:
            assert entry["hash"] == entry_hash(prev, entry)
            prev = entry["hash"]
        return
    with pytest.raises(getattr(errors, v["expect"])):
        verify_chain(v["entries"])


def test_there_are_success_and_failure_vectors() -> None:
    expects = {json.loads(p.read_text())["expect"] for p in FILES}
    assert {"success", "IntegrityError", "MalformedError"} <= expects


def good_chain() -> list[dict[str, Any]]:
    return json.loads((VECTORS / "accesslog-chain.json").read_text())["entries"]  # type: ignore[no-any-return]


def test_an_empty_log_is_a_valid_chain() -> None:
    verify_chain([])


@pytest.mark.parametrize("entry", ["not an entry", None, 3, ["seq", 1]])
def test_an_entry_that_is_not_an_object_is_malformed(entry: object) -> None:
    with pytest.raises(errors.MalformedError):
        verify_chain([entry])


@pytest.mark.parametrize("field", ["seq", "prev_hash", "hash"])
def test_an_entry_missing_a_link_field_is_malformed(field: str) -> None:
    entries = good_chain()
    del entries[1][field]
    with pytest.raises(errors.MalformedError):
        verify_chain(entries)


def test_seq_true_is_not_one() -> None:
    entries = good_chain()
    entries[0]["seq"] = True  # JSON true, which Python would compare equal to 1
    with pytest.raises(errors.MalformedError):
        verify_chain(entries)


@pytest.mark.parametrize("field", ["at", "actor_id", "action", "document_id", "version"])
def test_every_hashed_field_is_covered(field: str) -> None:
    entries = good_chain()
    entries[0][field] = "changed" if entries[0][field] != "changed" else "other"
    with pytest.raises(errors.IntegrityError):
        verify_chain(entries)


def test_a_changed_subject_is_covered() -> None:
    entries = good_chain()
    entries[1]["subject_id"] = None
    with pytest.raises(errors.IntegrityError):
        verify_chain(entries)


def test_a_field_outside_the_hash_is_ignored_but_links_are_not() -> None:
    entries = good_chain()
    extra = copy.deepcopy(entries)
    extra[0]["note"] = "servers may add fields; they are not part of the chain"
    verify_chain(extra)
    entries[0]["prev_hash"] = "11" * 32
    with pytest.raises(errors.IntegrityError):
        verify_chain(entries)


def test_a_prev_hash_that_is_not_hex_is_refused() -> None:
    entries = good_chain()
    entries[1]["prev_hash"] = "not hex"
    with pytest.raises(errors.IntegrityError):
        verify_chain(entries)


def test_a_log_that_starts_later_is_refused() -> None:
    with pytest.raises(errors.IntegrityError):
        verify_chain(good_chain()[1:])


def test_text_with_no_utf8_form_is_malformed() -> None:
    entries = good_chain()
    entries[0]["actor_id"] = "\ud800"  # what json.loads makes of the escape "\ud800"
    with pytest.raises(errors.MalformedError):
        verify_chain(entries)
