"""Check the committed vectors of sections 6 and 11 (payload, age export).

The JSON files are read, never written: tests/vectors/generate_payload.py makes them by hand.
An expected error is met by that error or a subclass (MalformedError where IntegrityError is
expected passes; the reverse does not), as docs/format.md section 13 says. The age-export
vectors are also opened by the real `age` binary: a stored payload behind an age header is a
standard age file.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import blake3
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from vault import agefile, errors
from vault.agefile import decrypt_age, export_age, identity_from_string, recipient_to_string
from vault.payload import _encrypt_payload_from_parts, age_file_key, decrypt_payload

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
PAYLOAD_FILES = sorted(VECTORS.glob("payload-*.json"))
AGE_FILES = sorted(VECTORS.glob("age-export-*.json"))
AGE = shutil.which("age")

# Every scenario the generator writes; a vector that goes missing is noticed here.
PAYLOAD_SCENARIOS = {
    "empty", "one-byte", "one-full-chunk", "full-chunk-plus-one", "several-chunks",
    "wrong-key", "flipped-nonce", "flipped-middle-chunk", "flipped-tag", "truncated-mid-chunk",
    "dropped-last-chunk", "reordered-chunks", "duplicated-chunk", "appended-chunk",
    "trailing-byte", "spliced-chunk", "empty-final-after-full", "no-last-flag",
    "shorter-than-nonce", "nonce-only",
}  # fmt: skip
AGE_SCENARIOS = {"text", "two-chunks"}


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def load(path: Path) -> dict[str, Any]:
    v: dict[str, Any] = json.loads(path.read_text(encoding="ascii"))
    assert v["description"]
    return v


def plaintext_of(v: dict[str, Any]) -> bytes:
    """The plaintext, written out or described by a byte cycle; checked against its hash."""
    if "plaintext" in v:
        assert "plaintext_pattern" not in v
        data = h(v["plaintext"])
    else:
        pattern = v["plaintext_pattern"]
        cycle, length = h(pattern["byte_cycle"]), pattern["length"]
        data = (cycle * (length // len(cycle) + 1))[:length]
    assert len(data) == v["plaintext_size"]
    assert hashlib.sha256(data).digest() == h(v["plaintext_sha256"])
    return data


def check_keys(v: dict[str, Any]) -> bytes:
    key = age_file_key(h(v["file_key"]))
    assert key == h(v["age_file_key"])
    return key


def check_payload(v: dict[str, Any], payload: bytes) -> None:
    """A success vector's payload decrypts to the plaintext and re-encrypts to itself."""
    key, plaintext, nonce = check_keys(v), plaintext_of(v), h(v["nonce"])
    assert payload[:16] == nonce
    assert len(payload) == v["payload_size"]
    assert blake3.blake3(payload).digest() == h(v["payload_blake3"])

    out = io.BytesIO()
    digest = decrypt_payload(io.BytesIO(payload), out, key)
    assert out.getvalue() == plaintext
    assert (digest.size, digest.blake3) == (v["payload_size"], h(v["payload_blake3"]))
    assert digest.plaintext_size == len(plaintext)

    sealed = io.BytesIO()
    digest = _encrypt_payload_from_parts(io.BytesIO(plaintext), sealed, key, nonce)
    assert sealed.getvalue() == payload
    assert (digest.size, digest.blake3) == (v["payload_size"], h(v["payload_blake3"]))
    assert digest.plaintext_size == len(plaintext)


def test_every_scenario_has_a_vector() -> None:
    assert {p.stem.removeprefix("payload-") for p in PAYLOAD_FILES} >= PAYLOAD_SCENARIOS
    assert {p.stem.removeprefix("age-export-") for p in AGE_FILES} >= AGE_SCENARIOS


@pytest.mark.parametrize("path", PAYLOAD_FILES, ids=[p.stem for p in PAYLOAD_FILES])
def test_payload_vector(path: Path) -> None:
    v = load(path)
    assert v["structure"] == "payload"
    payload = h(v["payload"])
    if v["expect"] == "success":
        check_payload(v, payload)
        return
    # The digest fields describe the bytes as given, so a reader can check its copy first.
    assert len(payload) == v["payload_size"]
    assert blake3.blake3(payload).digest() == h(v["payload_blake3"])
    key = check_keys(v)
    expected = getattr(errors, v["expect"])
    assert isinstance(expected, type) and issubclass(expected, errors.VaultError)
    with pytest.raises(expected):
        decrypt_payload(io.BytesIO(payload), io.BytesIO(), key)


@pytest.mark.parametrize("path", AGE_FILES, ids=[p.stem for p in AGE_FILES])
def test_age_export_vector(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    v = load(path)
    assert (v["structure"], v["expect"]) == ("age-export", "success")
    identity = identity_from_string(v["identity"])
    assert recipient_to_string(identity.public_key) == v["recipient"]
    header, age_file = h(v["header"]), h(v["age_file"])
    assert age_file.startswith(header)
    payload = age_file[len(header) :]
    check_payload(v, payload)

    out = io.BytesIO()
    decrypt_age(io.BytesIO(age_file), out, identity=identity)
    assert out.getvalue() == plaintext_of(v)

    # vault's own export writes exactly this file once its ephemeral key is the vector's.
    ephemeral = X25519PrivateKey.from_private_bytes(h(v["ephemeral_secret"]))

    class FixedEphemeral:
        generate = staticmethod(lambda: ephemeral)
        from_private_bytes = staticmethod(X25519PrivateKey.from_private_bytes)

    monkeypatch.setattr(agefile, "X25519PrivateKey", FixedEphemeral)
    exported = io.BytesIO()
    export_age(io.BytesIO(payload), exported, h(v["age_file_key"]), recipients=[v["recipient"]])
    assert exported.getvalue() == age_file


@pytest.mark.skipif(AGE is None, reason="the age binary is not installed")
@pytest.mark.parametrize("path", AGE_FILES, ids=[p.stem for p in AGE_FILES])
def test_age_binary_opens_age_export_vector(path: Path, tmp_path: Path) -> None:
    assert AGE is not None
    v = load(path)
    keyfile = tmp_path / "identity.txt"
    keyfile.write_text(v["identity"] + "\n")
    run = subprocess.run(
        [AGE, "-d", "-i", str(keyfile)],
        input=h(v["age_file"]),
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    assert run.stdout == plaintext_of(v)
