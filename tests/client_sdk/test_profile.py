"""The local profile: the session file, the trust memory and how they are written."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from client_sdk import profile as profile_module
from client_sdk.profile import SESSION_FILE, TRUST_FILE, Profile, Session


def session(**changes: object) -> Session:
    fields: dict[str, object] = {
        "server": "http://127.0.0.1:8000",
        "username": "anna",
        "user_id": "ab" * 16,
        "token": "token-123",
        "expires_at": 1_900_000_000,
        "key_version": 1,
        "private_keys": bytes(range(64)),
    }
    fields.update(changes)
    return Session(**fields)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.fixture
def prof(tmp_path: Path) -> Profile:
    return Profile(tmp_path / "profile")


# -- session -------------------------------------------------------------------------------------
def test_the_session_round_trips(prof: Profile) -> None:
    assert prof.load_session() is None
    prof.save_session(session())
    assert prof.load_session() == session()
    assert Profile(prof.dir).load_session() == session()  # another process, same directory


def test_the_session_file_is_private(prof: Profile) -> None:
    prof.save_session(session())
    assert mode(prof.dir / SESSION_FILE) == 0o600
    assert mode(prof.dir) == 0o700


def test_the_session_file_stays_private_when_rewritten(prof: Profile) -> None:
    prof.save_session(session())
    os.chmod(prof.dir / SESSION_FILE, 0o644)
    prof.save_session(session(token="token-456"))
    assert mode(prof.dir / SESSION_FILE) == 0o600


def test_the_trust_file_is_private(prof: Profile) -> None:
    prof.save_pin("cd" * 16, username="bob", key_id="00" * 16, fingerprint="f", verified=False)
    assert mode(prof.dir / TRUST_FILE) == 0o600


def test_clear_session_removes_the_keys(prof: Profile) -> None:
    prof.save_session(session())
    prof.clear_session()
    assert not (prof.dir / SESSION_FILE).exists()
    assert prof.load_session() is None
    prof.clear_session()  # twice is fine


def test_clearing_the_session_keeps_the_trust_memory(prof: Profile) -> None:
    prof.save_session(session())
    prof.raise_kdf_floor("anna", 65536, 3)
    prof.clear_session()
    assert prof.kdf_floor("anna") == (65536, 3)


def test_private_keys_are_stored_as_base64_not_raw(prof: Profile) -> None:
    prof.save_session(session(private_keys=b"\xff\x00secret"))
    data = json.loads((prof.dir / SESSION_FILE).read_text())
    assert data["private_keys"] == "/wBzZWNyZXQ="


# -- atomic writes -------------------------------------------------------------------------------
def test_a_failing_write_keeps_the_old_file_and_leaves_no_temp_file(
    prof: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    prof.save_session(session())
    before = (prof.dir / SESSION_FILE).read_bytes()

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(profile_module.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        prof.save_session(session(token="never written"))
    assert (prof.dir / SESSION_FILE).read_bytes() == before
    assert leftovers(prof.dir) == []


def test_an_unserialisable_value_keeps_the_old_trust_file(prof: Profile) -> None:
    prof.save_log_head("d" * 32, 3, "a" * 64)
    before = (prof.dir / TRUST_FILE).read_bytes()
    with pytest.raises(TypeError):
        prof.save_log_head("d" * 32, 4, object())  # type: ignore[arg-type]
    assert (prof.dir / TRUST_FILE).read_bytes() == before
    assert leftovers(prof.dir) == []
    assert prof.log_head("d" * 32) == (3, "a" * 64)


def test_writes_replace_the_file_in_one_rename_from_the_same_directory(
    prof: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def spy(src: str, dst: Path) -> None:
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(profile_module.os, "replace", spy)
    prof.save_session(session())
    prof.save_index_seen("d" * 32, 1, "0" * 64)
    assert [dst.name for _, dst in renames] == [SESSION_FILE, TRUST_FILE]
    assert all(src.parent == dst.parent == prof.dir for src, dst in renames)
    assert all(src.name.startswith(".") for src, _ in renames)


# -- pins ----------------------------------------------------------------------------------------
def test_pins_by_user_id_and_by_username(prof: Profile) -> None:
    bob, carol = "b0" * 16, "c0" * 16
    assert prof.pin(bob) is None
    assert prof.pins_for_username("bob") == []
    prof.save_pin(bob, username="bob", key_id="11" * 16, fingerprint="fp-bob", verified=False)
    prof.save_pin(carol, username="carol", key_id="22" * 16, fingerprint="fp-c", verified=True)
    assert prof.pin(bob) == {
        "username": "bob",
        "key_id": "11" * 16,
        "fingerprint": "fp-bob",
        "verified": False,
    }
    [found] = prof.pins_for_username("carol")
    assert found[0] == carol and found[1]["verified"] is True
    assert Profile(prof.dir).pin(bob) == prof.pin(bob)


def test_a_returned_pin_is_a_copy(prof: Profile) -> None:
    bob = "b0" * 16
    prof.save_pin(bob, username="bob", key_id="11" * 16, fingerprint="fp", verified=False)
    pin = prof.pin(bob)
    assert pin is not None
    pin["verified"] = True
    assert prof.pin(bob)["verified"] is False  # type: ignore[index]


def test_saving_a_pin_again_replaces_it(prof: Profile) -> None:
    bob = "b0" * 16
    prof.save_pin(bob, username="bob", key_id="11" * 16, fingerprint="old", verified=False)
    prof.save_pin(bob, username="bob", key_id="22" * 16, fingerprint="new", verified=True)
    assert prof.pin(bob) == {
        "username": "bob",
        "key_id": "22" * 16,
        "fingerprint": "new",
        "verified": True,
    }


# -- KDF floor -----------------------------------------------------------------------------------
def test_the_kdf_floor_only_rises(prof: Profile) -> None:
    assert prof.kdf_floor("anna") is None
    prof.raise_kdf_floor("anna", 65536, 3)
    prof.raise_kdf_floor("anna", 32768, 2)  # a server offering less changes nothing
    assert prof.kdf_floor("anna") == (65536, 3)
    prof.raise_kdf_floor("anna", 32768, 5)  # each parameter rises on its own
    assert prof.kdf_floor("anna") == (65536, 5)
    prof.raise_kdf_floor("anna", 131072, 1)
    assert prof.kdf_floor("anna") == (131072, 5)
    assert prof.kdf_floor("bob") is None  # per account


# -- index counters, versions, log head ---------------------------------------------------------
def test_a_device_token_is_kept_per_username_and_outlives_the_session(prof: Profile) -> None:
    assert prof.device_token("anna") is None
    prof.save_device_token("anna", "token-1")
    prof.save_device_token("bert", "token-b")
    prof.save_device_token("anna", "token-2")  # the next login's replaces it
    prof.clear_session()  # logging out keeps it: this device has logged in before
    assert prof.device_token("anna") == "token-2" and prof.device_token("bert") == "token-b"
    assert stat.S_IMODE((prof.dir / TRUST_FILE).stat().st_mode) == 0o600


def test_a_damaged_device_token_counts_as_none(prof: Profile) -> None:
    (prof.dir).mkdir(parents=True, exist_ok=True)
    (prof.dir / TRUST_FILE).write_text(json.dumps({"device_tokens": {"anna": 5, "bert": ""}}))
    assert prof.device_token("anna") is None and prof.device_token("bert") is None


def test_index_seen_round_trips_per_dossier(prof: Profile) -> None:
    d1, d2 = "d1" * 16, "d2" * 16
    assert prof.index_seen(d1) is None
    prof.save_index_seen(d1, 7, "ab" * 32)
    prof.save_index_seen(d2, 2, "cd" * 32)
    assert prof.index_seen(d1) == (7, "ab" * 32)
    assert Profile(prof.dir).index_seen(d2) == (2, "cd" * 32)


def test_the_last_index_is_kept_byte_for_byte_per_dossier(prof: Profile) -> None:
    d1, d2 = "d1" * 16, "d2" * 16
    assert prof.last_index(d1) is None
    prof.save_last_index(d1, b"KLIX\x02 first", 1, "ab" * 32)
    prof.save_last_index(d1, b"KLIX\x02 second", 2, "cd" * 32)
    prof.save_last_index(d2, b"KLIX\x02 other", 1, "ef" * 32)
    assert Profile(prof.dir).last_index(d1) == b"KLIX\x02 second"
    assert prof.last_index(d2) == b"KLIX\x02 other"
    assert prof.index_seen(d1) == (2, "cd" * 32)  # what an older client reads
    path = prof.dir / "indexes" / f"{d1}.klix"
    assert mode(path) == 0o600 and leftovers(path.parent) == []


def test_versions_seen_only_rise(prof: Profile) -> None:
    doc, other = "e1" * 16, "e2" * 16
    assert prof.versions_seen().get(doc, 0) == 0
    prof.save_versions_seen({doc: 3, other: 1})
    prof.save_versions_seen({doc: 2})  # an older listing does not lower it
    assert prof.versions_seen().get(doc, 0) == 3
    prof.save_versions_seen({doc: 4})
    assert (prof.versions_seen().get(doc, 0), prof.versions_seen().get(other, 0)) == (4, 1)


def test_the_log_head_round_trips(prof: Profile) -> None:
    dossier = "d1" * 16
    assert prof.log_head(dossier) is None
    prof.save_log_head(dossier, 5, "ef" * 32)
    assert prof.log_head(dossier) == (5, "ef" * 32)


def test_sections_do_not_overwrite_each_other(prof: Profile) -> None:
    prof.save_pin("b0" * 16, username="bob", key_id="11" * 16, fingerprint="fp", verified=True)
    prof.raise_kdf_floor("anna", 65536, 3)
    prof.save_index_seen("d1" * 16, 2, "ab" * 32)
    prof.save_versions_seen({"e1" * 16: 2})
    prof.save_log_head("d1" * 16, 4, "cd" * 32)
    data = json.loads((prof.dir / TRUST_FILE).read_text())
    assert set(data) == {"pins", "kdf", "indexes", "versions", "logs"}


def test_a_change_made_by_another_process_is_seen(prof: Profile) -> None:
    prof.save_versions_seen({"e1" * 16: 1})
    assert prof.versions_seen().get("e1" * 16, 0) == 1  # now cached
    Profile(prof.dir).save_versions_seen({"e1" * 16: 10})  # another size: the cache is keyed on it
    assert prof.versions_seen().get("e1" * 16, 0) == 10


# -- damaged files -------------------------------------------------------------------------------
def damaged(prof: Profile, name: str, text: str) -> None:
    prof.dir.mkdir(parents=True, exist_ok=True)
    (prof.dir / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("text", ["[]", '"text"', "42", "null"])
def test_a_trust_file_that_is_not_an_object_is_a_clear_error(prof: Profile, text: str) -> None:
    damaged(prof, TRUST_FILE, text)
    with pytest.raises(ValueError, match=r"trust\.json is damaged"):
        prof.kdf_floor("anna")


def test_a_truncated_or_garbled_trust_file_is_a_clear_error(prof: Profile) -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # json.load's own message ("Expecting value: line 1 column 1 (char 0)") escapes, and
    # the CLI prints only that: the user is not told which file is damaged.
    for text in ('{"pins": {', "", "\x00\x00"):
        damaged(prof, TRUST_FILE, text)
        with pytest.raises(ValueError, match=r"trust\.json is damaged"):
            Profile(prof.dir).pin("b0" * 16)


ACCESSORS = {
    "pins": lambda p: p.pin("b0" * 16),
    "kdf": lambda p: p.kdf_floor("anna"),
    "indexes": lambda p: p.index_seen("d1" * 16),
    "versions": lambda p: p.versions_seen(),
    "logs": lambda p: p.log_head("d1" * 16),
}


def test_a_trust_section_of_the_wrong_type_is_a_clear_error(prof: Profile) -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # `_get` calls .get() on whatever the section holds: a list or a string raises
    # AttributeError, which the CLI does not catch (a traceback instead of a one-line error).
    for section, read in ACCESSORS.items():
        damaged(prof, TRUST_FILE, json.dumps({section: []}))
        with pytest.raises(ValueError, match=r"trust\.json is damaged"):
            read(Profile(prof.dir))  # a fresh object: no cached copy


WRITERS = {
    "pins": lambda p: p.save_pin("b0" * 16, username="b", key_id="0", fingerprint="f", verified=0),
    "kdf": lambda p: p.raise_kdf_floor("anna", 65536, 3),
    "indexes": lambda p: p.save_index_seen("d1" * 16, 2, "ab" * 32),
    "versions": lambda p: p.save_versions_seen({"e1" * 16: 2}),
    "logs": lambda p: p.save_log_head("d1" * 16, 4, "cd" * 32),
}


def test_a_write_into_a_trust_section_of_the_wrong_type_is_a_clear_error(prof: Profile) -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # `_update` does trust.setdefault(section, {})[key] = ...
    # and save_versions_seen calls .get() on the section, so writing into a damaged section
    # raises TypeError / AttributeError, a traceback from `kluis add` or `kluis dossier create`.
    for section, write in WRITERS.items():
        damaged(prof, TRUST_FILE, json.dumps({section: []}))
        with pytest.raises(ValueError, match=r"trust\.json is damaged"):
            write(Profile(prof.dir))
        assert json.loads((prof.dir / TRUST_FILE).read_text()) == {section: []}, section


def test_a_session_file_that_is_not_an_object_is_a_clear_error(prof: Profile) -> None:
    damaged(prof, SESSION_FILE, "[1, 2]")
    with pytest.raises(ValueError, match=r"session\.json is damaged"):
        prof.load_session()


@pytest.mark.parametrize("text", ['{"server": "http://x"}', "garbage"])
def test_a_damaged_session_file_is_a_clear_error(prof: Profile, text: str) -> None:
    # Regression test of a bug since fixed in client_sdk. It was:
    # a session missing a field raises KeyError (a traceback from every command), and
    # invalid JSON gives json's message without naming the file.
    damaged(prof, SESSION_FILE, text)
    with pytest.raises(ValueError, match=r"session\.json is damaged"):
        prof.load_session()


def test_the_default_profile_is_the_platform_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module.platformdirs, "user_data_dir", lambda *a, **k: "/x/kluis")
    assert Profile().dir == Path("/x/kluis")


def test_saving_what_is_already_known_does_not_rewrite_the_trust_file(prof: Profile) -> None:
    prof.save_index_seen("d1" * 16, 2, "ab" * 32)
    prof.save_versions_seen({"e1" * 16: 3})
    before = (prof.dir / TRUST_FILE).stat().st_ino
    prof.save_index_seen("d1" * 16, 2, "ab" * 32)
    prof.save_versions_seen({"e1" * 16: 2})  # lower: nothing to record
    assert (prof.dir / TRUST_FILE).stat().st_ino == before  # an atomic rewrite changes it
    prof.save_versions_seen({"e1" * 16: 4})
    assert (prof.dir / TRUST_FILE).stat().st_ino != before
