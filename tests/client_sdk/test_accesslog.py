"""The access log's hash chain (docs/api.md, "Access log"), checked by the client.

Hashes here are computed independently from the documented rule, not with the client's code:

    hash = lowercase hex SHA-256( bytes.fromhex(prev_hash) || canonical_json(entry without
           prev_hash and hash) ),  canonical JSON: sorted keys, "," and ":", UTF-8;
    entry 1 links to 64 zeros.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client_sdk.accesslog import LogEntry, verify_log
from client_sdk.client import Client
from client_sdk.errors import TamperedLogError
from client_sdk.localserver import LocalServer

from .cli_runner import KLUIS

ZEROS = "0" * 64
ANNA, BOB = "a1" * 16, "b2" * 16
DOC = "d3" * 16


def canonical(entry: dict[str, Any]) -> bytes:
    body = {k: v for k, v in entry.items() if k not in ("prev_hash", "hash")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(entry)).hexdigest()


def rechain(entries: list[dict[str, Any]], renumber: bool = True) -> list[dict[str, Any]]:
    """What a server that rewrites history would do: make every link consistent again."""
    out, prev = [], ZEROS
    for position, raw in enumerate(entries, start=1):
        entry = {k: v for k, v in raw.items() if k not in ("prev_hash", "hash")}
        if renumber:
            entry["seq"] = position
        entry["prev_hash"] = prev
        entry["hash"] = prev = link(prev, entry)
        out.append(entry)
    return out


def event(action: str, actor: str = ANNA, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": 1_790_000_000,
        "actor_id": actor,
        "action": action,
        "document_id": None,
        "version": None,
        "subject_id": None,
    }
    entry.update(fields)
    return entry


def history() -> list[dict[str, Any]]:
    """Six entries as a dossier's life would write them."""
    return rechain(
        [
            event("upload", document_id=DOC, version=1),
            event("download", document_id=DOC, version=1, at=1_790_000_060),
            event("share", subject_id=BOB, at=1_790_000_120),
            event("download", actor=BOB, document_id=DOC, version=1, at=1_790_000_180),
            event("upload", document_id=DOC, version=2, at=1_790_000_240),
            event("revoke", subject_id=BOB, at=1_790_000_300),
        ]
    )


def head(entries: list[dict[str, Any]], seq: int) -> tuple[int, str]:
    return seq, entries[seq - 1]["hash"]


# -- a valid chain -------------------------------------------------------------------------------
def test_a_valid_chain_is_returned_entry_by_entry() -> None:
    entries = history()
    checked = verify_log(entries, None)
    assert [e.seq for e in checked] == [1, 2, 3, 4, 5, 6]
    first = LogEntry(1, 1_790_000_000, ANNA, "upload", DOC, 1, None, entries[0]["hash"])
    assert checked[0] == first
    assert checked[2].subject_id == BOB and checked[2].document_id is None
    assert [e.hash for e in checked] == [e["hash"] for e in entries]


def test_the_first_entry_links_to_zeros() -> None:
    assert history()[0]["prev_hash"] == ZEROS
    assert verify_log(history()[:1], None)[0].seq == 1


def test_an_empty_log_is_valid_when_nothing_was_seen() -> None:
    assert verify_log([], None) == []


@pytest.mark.parametrize("seen", [1, 3, 6])
def test_a_log_that_grew_after_the_remembered_head_is_valid(seen: int) -> None:
    entries = history()
    assert len(verify_log(entries, head(entries, seen))) == 6


def test_non_ascii_text_is_hashed_as_utf8_not_escaped() -> None:
    entries = rechain([event("upload", document_id="dossier-ë", version=1)])
    assert "ë".encode() in canonical(entries[0])
    assert verify_log(entries, None)[0].document_id == "dossier-ë"


def test_a_log_hashed_with_escaped_non_ascii_is_refused() -> None:
    entry = event("upload", document_id="dossier-ë", version=1, seq=1, prev_hash=ZEROS)
    body = {k: v for k, v in entry.items() if k != "prev_hash"}
    escaped = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()  # \u00eb
    entry["hash"] = hashlib.sha256(bytes(32) + escaped).hexdigest()
    with pytest.raises(TamperedLogError, match="entry 1 was altered"):
        verify_log([entry], None)


# -- altered entries -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("at", 1_700_000_000),
        ("actor_id", ANNA),
        ("action", "upload"),
        ("document_id", "e4" * 16),
        ("version", 9),
        ("subject_id", ANNA),
    ],
)
def test_an_altered_field_is_caught(field: str, value: Any) -> None:
    entries = history()
    entries[3][field] = value  # entry 4: bob's download
    with pytest.raises(TamperedLogError, match="entry 4 was altered"):
        verify_log(entries, None)


def test_an_altered_hash_is_caught() -> None:
    entries = history()
    entries[1]["hash"] = "f" * 64
    with pytest.raises(TamperedLogError, match="entry 2 was altered"):
        verify_log(entries, None)


def test_an_altered_prev_hash_is_caught() -> None:
    entries = history()
    entries[2]["prev_hash"] = ZEROS
    with pytest.raises(TamperedLogError, match="entry 3 was altered"):
        verify_log(entries, None)


def test_an_uppercase_hash_is_not_the_documented_form() -> None:
    entries = history()[:1]
    entries[0]["hash"] = entries[0]["hash"].upper()
    with pytest.raises(TamperedLogError, match="entry 1 was altered"):
        verify_log(entries, None)


def test_an_entry_altered_and_rehashed_breaks_the_next_link() -> None:
    entries = history()
    entries[1]["action"] = "share"
    entries[1]["hash"] = link(entries[1]["prev_hash"], entries[1])
    with pytest.raises(TamperedLogError, match="entry 3 was altered"):
        verify_log(entries, None)


def test_a_rechained_log_is_only_caught_against_what_was_seen() -> None:
    seen = history()
    forged = copy.deepcopy(seen)
    forged[3]["actor_id"] = ANNA  # hide that bob downloaded the report
    forged = rechain(forged)
    assert len(verify_log(forged, None)) == 6  # a device that saw nothing cannot tell
    with pytest.raises(TamperedLogError, match="entry 6, seen before, was rewritten"):
        verify_log(forged, head(seen, 6))


# -- reordered, missing and duplicated entries ---------------------------------------------------
def test_reordered_entries_are_caught() -> None:
    entries = history()
    entries[1], entries[2] = entries[2], entries[1]
    with pytest.raises(TamperedLogError, match="entry 2 is missing or out of order"):
        verify_log(entries, None)


def test_reordered_and_renumbered_entries_are_caught() -> None:
    entries = history()
    entries[1], entries[2] = entries[2], entries[1]
    entries[1]["seq"], entries[2]["seq"] = 2, 3
    with pytest.raises(TamperedLogError, match="entry 2 was altered"):
        verify_log(entries, None)


def test_a_reversed_log_is_caught() -> None:
    with pytest.raises(TamperedLogError, match="entry 1 is missing or out of order"):
        verify_log(history()[::-1], None)


def test_a_missing_entry_is_caught() -> None:
    entries = history()
    del entries[2]
    with pytest.raises(TamperedLogError, match="entry 3 is missing or out of order"):
        verify_log(entries, None)


def test_a_missing_first_entry_is_caught() -> None:
    with pytest.raises(TamperedLogError, match="entry 1 is missing or out of order"):
        verify_log(history()[1:], None)


def test_a_missing_entry_with_renumbering_is_caught() -> None:
    entries = history()
    del entries[2]
    for position, entry in enumerate(entries, start=1):
        entry["seq"] = position
    with pytest.raises(TamperedLogError, match="entry 3 was altered"):
        verify_log(entries, None)


def test_a_missing_entry_fully_rechained_is_caught_against_the_remembered_head() -> None:
    seen = history()
    forged = rechain([e for e in seen if e["seq"] != 4])  # drop bob's download, relink the rest
    with pytest.raises(TamperedLogError, match="entry 5, seen before, was rewritten"):
        verify_log(forged, head(seen, 5))


def test_a_duplicated_entry_is_caught() -> None:
    entries = history()
    entries.insert(2, copy.deepcopy(entries[1]))
    with pytest.raises(TamperedLogError, match="entry 3 is missing or out of order"):
        verify_log(entries, None)


# -- history dropped or rewritten after this device saw it ---------------------------------------
def test_dropped_history_after_the_remembered_head_is_caught() -> None:
    seen = history()
    with pytest.raises(TamperedLogError, match="saw entry 6, the server now shows 3") as raised:
        verify_log(seen[:3], head(seen, 6))
    assert "dropped history" in str(raised.value)


def test_an_emptied_log_is_caught() -> None:
    seen = history()
    with pytest.raises(TamperedLogError, match="dropped history"):
        verify_log([], head(seen, 1))


def test_a_rewritten_remembered_entry_is_caught() -> None:
    seen = history()
    forged = copy.deepcopy(seen)
    forged[2]["subject_id"] = ANNA  # "anna shared with herself", relinked from there on
    forged = rechain(forged)
    with pytest.raises(TamperedLogError, match="entry 3, seen before, was rewritten"):
        verify_log(forged, head(seen, 3))


def test_history_cut_and_regrown_to_the_same_length_is_caught() -> None:
    seen = history()[:4]
    regrown = rechain([*seen[:2], event("upload", document_id=DOC, version=2), event("upload")])
    with pytest.raises(TamperedLogError, match="entry 4, seen before, was rewritten"):
        verify_log(regrown, head(seen, 4))


def test_a_remembered_head_with_another_hash_is_caught() -> None:
    entries = history()
    with pytest.raises(TamperedLogError, match="entry 2, seen before"):
        verify_log(entries, (2, entries[3]["hash"]))


def test_entries_after_the_remembered_head_are_the_servers_word() -> None:
    """The server can still lie about what happens next; it cannot change what was seen."""
    seen = history()
    changed_future = copy.deepcopy(seen)
    changed_future[5]["action"] = "download"
    changed_future = rechain(changed_future)
    assert verify_log(changed_future, head(seen, 5))[5].action == "download"


# -- malformed entries ---------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["seq", "prev_hash", "hash"])
def test_an_entry_without_a_link_field_is_refused(missing: str) -> None:
    entries = history()
    del entries[1][missing]
    with pytest.raises(TamperedLogError, match="entry 2"):
        verify_log(entries, None)


@pytest.mark.parametrize("bad", [None, [], "entry", 42])
def test_an_entry_that_is_not_an_object_is_refused(bad: Any) -> None:
    entries: list[Any] = history()
    entries[1] = bad
    with pytest.raises(TamperedLogError, match="entry 2 is malformed"):
        verify_log(entries, None)


def test_a_seq_given_as_text_is_refused() -> None:
    entries = history()
    entries[0]["seq"] = "1"
    with pytest.raises(TamperedLogError, match="entry 1"):
        verify_log(entries, None)


def test_a_non_hex_link_is_refused() -> None:
    entries = history()[:2]
    entries[0]["hash"] = "not hex"
    entries[1]["prev_hash"] = "not hex"
    with pytest.raises(TamperedLogError):
        verify_log(entries, None)


# -- against the real server ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def people(
    server: LocalServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Client, Client]]:
    root = tmp_path_factory.mktemp("log-people")
    anna = Client(server.url, str(root / "anna"))
    bob = Client(server.url, str(root / "bob"))
    anna.register("anna-log", "passphrase of anna-log 2026 kaasschaaf")
    bob.register("bob-log", "passphrase of bob-log 2026 kaasschaaf")
    yield anna, bob
    anna.close()
    bob.close()


def busy_dossier(anna: Client, bob: Client, tmp: Path) -> str:
    """A dossier with an upload, a download, a share, bob's download and a revoke."""
    dossier = anna.create_dossier("Logboek")
    (tmp / "rapport.txt").write_text("scheur in de gevel")
    doc = anna.add(dossier, tmp / "rapport.txt").document_id
    anna.get(doc, tmp / "anna.txt")
    anna.share(dossier, "bob-log")
    bob.get(doc, tmp / "bob.txt")
    anna.revoke(dossier, "bob-log")
    return dossier


def db_execute(server: LocalServer, sql: str, *args: Any) -> None:
    with sqlite3.connect(server.db_path) as db:
        db.execute(sql, args)
    db.close()


def raw_log(anna: Client, dossier: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = anna.api.call("GET", f"/dossiers/{dossier}/log")
    return entries


def test_the_servers_log_follows_the_documented_rule(
    people: tuple[Client, Client], tmp_path: Path
) -> None:
    anna, bob = people
    dossier = busy_dossier(anna, bob, tmp_path)
    entries = raw_log(anna, dossier)
    prev = ZEROS
    for position, entry in enumerate(entries, start=1):
        assert entry["seq"] == position
        assert entry["prev_hash"] == prev
        assert entry["hash"] == link(prev, entry)
        prev = entry["hash"]
    actions = [(e["action"], e["actor_id"], e["subject_id"]) for e in entries]
    assert actions == [
        ("upload", anna.my_id, None),
        ("download", anna.my_id, None),
        ("share", anna.my_id, bob.my_id),
        ("download", bob.my_id, None),
        ("revoke", anna.my_id, bob.my_id),
    ]
    checked = anna.access_log(dossier)
    assert anna.profile.log_head(dossier) == (5, checked[-1].hash) == (5, entries[-1]["hash"])


def test_an_entry_altered_in_the_servers_database_is_caught(
    server: LocalServer, people: tuple[Client, Client], tmp_path: Path
) -> None:
    anna, bob = people
    dossier = busy_dossier(anna, bob, tmp_path)
    anna.access_log(dossier)
    db_execute(
        server,
        "UPDATE log_entries SET actor_id = ? WHERE dossier_id = ? AND seq = 4",
        anna.my_id,
        dossier,
    )
    with pytest.raises(TamperedLogError, match="entry 4 was altered"):
        anna.access_log(dossier)
    result = subprocess.run(
        [KLUIS, "log", dossier, "--json"],
        env={**os.environ, "KLUIS_SERVER": anna.server, "KLUIS_PROFILE": str(anna.profile.dir)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("SECURITY CHECK FAILED (TamperedLogError)")
    assert result.stdout == ""


def test_history_rewritten_in_the_servers_database_is_caught(
    server: LocalServer, people: tuple[Client, Client], tmp_path: Path
) -> None:
    anna, bob = people
    dossier = busy_dossier(anna, bob, tmp_path)
    anna.access_log(dossier)
    entries = raw_log(anna, dossier)
    forged = copy.deepcopy(entries)
    forged[3]["actor_id"] = anna.my_id  # "it was anna who downloaded", every link made good
    forged = rechain(forged)
    db_execute(server, "DELETE FROM log_entries WHERE dossier_id = ?", dossier)
    for e in forged:
        db_execute(
            server,
            "INSERT INTO log_entries (seq, at, actor_id, action, document_id, version, "
            "subject_id, prev_hash, hash, dossier_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            *(e[k] for k in ("seq", "at", "actor_id", "action", "document_id", "version")),
            *(e[k] for k in ("subject_id", "prev_hash", "hash")),
            dossier,
        )
    assert raw_log(anna, dossier) == forged
    with pytest.raises(TamperedLogError, match="entry 5, seen before, was rewritten"):
        anna.access_log(dossier)
    with Client(server.url, str(tmp_path / "fresh-device")) as fresh:
        fresh.login("anna-log", "passphrase of anna-log 2026 kaasschaaf")
        assert len(fresh.access_log(dossier)) == 5  # a device that saw nothing cannot tell


def test_dropped_entries_in_the_servers_database_are_caught(
    server: LocalServer, people: tuple[Client, Client], tmp_path: Path
) -> None:
    anna, bob = people
    dossier = busy_dossier(anna, bob, tmp_path)
    anna.access_log(dossier)
    db_execute(server, "DELETE FROM log_entries WHERE dossier_id = ? AND seq >= 4", dossier)
    with pytest.raises(TamperedLogError, match="saw entry 5, the server now shows 3"):
        anna.access_log(dossier)
