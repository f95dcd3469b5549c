"""Check the committed vectors of sections 2-5 (kdf, fingerprint, identity, bundle, recovery).

The JSON files are read, never written: tests/vectors/generate_keys.py makes them by hand.
An expected error is met by that error or a subclass (MalformedError where IntegrityError is
expected passes; the reverse does not), as docs/format.md section 13 says.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vault import errors, kdf
from vault.bundle import BundlePurpose, _seal_bundle_from_parts, bundle_kdf_params, open_bundle
from vault.kdf import KdfParams, PassphraseKeys, check_kdf_params, derive_master_key
from vault.keys import Identity, PrivateIdentity, fingerprint_digest, format_fingerprint
from vault.recovery import RecoveryKeys, parse_recovery_code

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
STRUCTURES = ("kdf", "fingerprint", "identity", "bundle", "recovery")
FILES = sorted(p for p in VECTORS.glob("*.json") if p.name.split("-")[0] in STRUCTURES)


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def params_from(obj: dict[str, Any]) -> KdfParams:
    return KdfParams(
        obj["algorithm"], obj["memory_kib"], obj["iterations"], obj["parallelism"], h(obj["salt"])
    )


def check_kdf(v: dict[str, Any]) -> None:
    params = KdfParams.decode(h(v["params_encoded"]))
    assert params == params_from(v["params"])
    previous = params_from(v["previous"]) if v["previous"] else None
    check_kdf_params(params, previous)
    assert unicodedata.normalize("NFC", v["passphrase"]).encode() == h(v["passphrase_utf8"])
    master = derive_master_key(v["passphrase"], params, previous)
    assert master == h(v["master_key"])
    keys = PassphraseKeys.from_master_key(master, params)
    assert (keys.auth_key, keys.bundle_key) == (h(v["auth_key"]), h(v["bundle_key"]))


def check_fingerprint(v: dict[str, Any]) -> None:
    digest = fingerprint_digest(h(v["signing_key"]), h(v["box_key"]))
    assert digest == h(v["digest"])
    assert digest[:32] == h(v["key_id"])
    assert format_fingerprint(digest) == v["fingerprint"]


def check_identity(v: dict[str, Any]) -> None:
    identity = Identity.decode(h(v["identity"]))
    assert identity.user_id == h(v["user_id"])
    assert identity.key_version == v["key_version"] and identity.username == v["username"]
    assert (identity.signing_key, identity.box_key) == (h(v["signing_key"]), h(v["box_key"]))
    assert (identity.key_id, identity.fingerprint) == (h(v["key_id"]), v["fingerprint"])
    private = PrivateIdentity.from_private_keys(
        h(v["user_id"]), v["username"], v["key_version"], h(v["private_keys"])
    )
    assert private.public.encode() == h(v["identity"])


def check_bundle(v: dict[str, Any]) -> None:
    data, purpose = h(v["bundle"]), BundlePurpose(v["purpose"])
    keys: PassphraseKeys | RecoveryKeys
    if purpose is BundlePurpose.PASSPHRASE:
        params = bundle_kdf_params(data)
        check_kdf_params(params)
        keys = PassphraseKeys.from_master_key(h(v["master_key"]), params)
    else:
        keys = RecoveryKeys.from_entropy(h(v["recovery_entropy"]))
    assert keys.bundle_key == h(v["bundle_key"])
    opened = open_bundle(
        data,
        keys,
        user_id=h(v["user_id"]),
        key_version=v["key_version"],
        username=v["username"],
        pinned=Identity.decode(h(v["pinned_identity"])),
    )
    assert opened.private_keys() == h(v["private_keys"])
    assert opened.public.signing_key == h(v["signing_key"])
    assert opened.public.box_key == h(v["box_key"])
    kdf_params = params_from(v["kdf_params"]) if v["kdf_params"] else None
    resealed = _seal_bundle_from_parts(
        h(v["private_keys"]),
        purpose=purpose,
        user_id=h(v["user_id"]),
        key_version=v["key_version"],
        kdf_params=kdf_params,
        key=keys.bundle_key,
        nonce=h(v["nonce"]),
    )
    assert resealed == data


def check_recovery(v: dict[str, Any]) -> None:
    code = parse_recovery_code(v["input"])
    assert code.entropy == h(v["entropy"])
    assert code.phrase == v["words"]
    keys = RecoveryKeys.from_entropy(code.entropy)
    assert keys.auth_key == h(v["recovery_auth_key"])
    assert keys.bundle_key == h(v["recovery_bundle_key"])


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "kdf": check_kdf,
    "fingerprint": check_fingerprint,
    "identity": check_identity,
    "bundle": check_bundle,
    "recovery": check_recovery,
}


def test_vectors_are_present_for_every_structure() -> None:
    found = {p.name.split("-")[0] for p in FILES}
    assert found == set(STRUCTURES), "run tests/vectors/generate_keys.py"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vector = json.loads(path.read_text(encoding="ascii"))
    assert vector["structure"] == path.name.split("-")[0]
    assert vector["description"]
    check = CHECKS[vector["structure"]]
    expect = vector["expect"]
    if expect == "success":
        check(vector)
        return
    error = getattr(errors, expect)
    assert isinstance(error, type) and issubclass(error, errors.VaultError)

    def no_argon2(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("a failing vector must fail before Argon2id runs")

    # Every failing vector fails on a check that comes before the slow derivation.
    monkeypatch.setattr(kdf, "hash_secret_raw", no_argon2)
    with pytest.raises(error):
        check(vector)
