"""Write the test vectors of docs/format.md sections 6 and 11 (payload, age export) into
tests/vectors/, one JSON file per scenario.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_payload.py
Every input is fixed (file keys, nonces, plaintexts, the age identity and the ephemeral X25519
keys), so running it again writes the same bytes; a diff after a run means the format or the
implementation changed. Fields are described in tests/vectors/README.md.

The payloads are built here with a small STREAM encoder of our own (age spec, "Payload"), so
that the failing vectors can contain chunks no correct encoder writes (a wrong counter, a
missing last flag, an empty last chunk after a full one). Every success payload is checked
against `vault.payload` byte for byte, and every failing one is checked to fail there. The
age header of the age-export vectors is likewise written here from the age spec, because
`vault.agefile` always draws a fresh ephemeral key; `vault.agefile.decrypt_age` (and the real
`age` binary, when installed) must open the result.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import bech32
import blake3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.agefile import (
    decrypt_age,
    identity_from_string,
    recipient_to_string,
)
from vault.errors import IntegrityError
from vault.payload import _encrypt_payload_from_parts, age_file_key, decrypt_payload_bytes

OUT = Path(__file__).resolve().parent
PREFIXES = ("payload-", "age-export-")

CHUNK = 65536  # plaintext bytes per chunk
TAG = 16  # Poly1305
SEALED_CHUNK = CHUNK + TAG
NONCE = 16
# Files stay below about 300 KB (payload and plaintext both in hex): a larger plaintext is
# described by a pattern (see `plaintext_fields`) instead of being written out.
MAX_INLINE_PLAINTEXT = CHUNK + 1
CYCLE = bytes(range(251))  # pattern plaintexts: a prime period, so no two chunks are equal


def seed(name: str, size: int) -> bytes:
    """Fixed pseudo-random bytes, named so that every vector input is reproducible."""
    return hashlib.shake_256(f"kluis/test-vectors/{name}".encode()).digest(size)


FILE_KEY = seed("payload/file-key", 32)
AGE_FILE_KEY = age_file_key(FILE_KEY)
OTHER_FILE_KEY = seed("payload/other-file-key", 32)


def write(name: str, structure: str, description: str, expect: str, **fields: Any) -> None:
    doc = {"structure": structure, "description": description, "expect": expect, **fields}
    (OUT / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def cycle(length: int) -> bytes:
    return (CYCLE * (length // len(CYCLE) + 1))[:length]


# -- age STREAM, written from the spec --------------------------------------------------------


def payload_aead(key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    payload_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"payload")
    return ChaCha20Poly1305(payload_key.derive(key))


def seal_chunk(key: bytes, nonce: bytes, counter: int, last: bool, piece: bytes) -> bytes:
    chunk_nonce = counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
    return payload_aead(key, nonce).encrypt(chunk_nonce, piece, None)


def pieces(plaintext: bytes) -> list[bytes]:
    return [plaintext[i : i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]


def chunks(plaintext: bytes, nonce: bytes, key: bytes = AGE_FILE_KEY) -> list[bytes]:
    """The sealed chunks of a valid payload (without its nonce)."""
    parts = pieces(plaintext)
    return [seal_chunk(key, nonce, i, i == len(parts) - 1, p) for i, p in enumerate(parts)]


def encrypt(plaintext: bytes, nonce: bytes) -> bytes:
    """A valid payload, checked against vault.payload byte for byte."""
    payload = nonce + b"".join(chunks(plaintext, nonce))
    dst = io.BytesIO()
    digest = _encrypt_payload_from_parts(io.BytesIO(plaintext), dst, AGE_FILE_KEY, nonce)
    assert dst.getvalue() == payload
    assert (digest.size, digest.blake3) == (len(payload), blake3.blake3(payload).digest())
    assert decrypt_payload_bytes(payload, AGE_FILE_KEY) == plaintext
    return payload


def plaintext_fields(plaintext: bytes, pattern: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if pattern:
        assert plaintext == cycle(len(plaintext))
        fields["plaintext_pattern"] = {"byte_cycle": CYCLE.hex(), "length": len(plaintext)}
    else:
        assert len(plaintext) <= MAX_INLINE_PLAINTEXT
        fields["plaintext"] = plaintext.hex()
    fields["plaintext_size"] = len(plaintext)
    fields["plaintext_sha256"] = hashlib.sha256(plaintext).hexdigest()
    return fields


def payload_fields(payload: bytes) -> dict[str, Any]:
    return {
        "payload_size": len(payload),
        "payload_blake3": blake3.blake3(payload).hexdigest(),
        "payload": payload.hex(),
    }


# -- section 6: payload ---------------------------------------------------------------------------


def success_vectors() -> None:
    cases = [
        ("empty", "empty plaintext: one empty final chunk (tag only)", b""),
        ("one-byte", "1-byte plaintext: one final chunk", seed("payload/plaintext/one-byte", 1)),
        ("one-full-chunk", "65536 bytes: exactly one full chunk, which is the final one",
         seed("payload/plaintext/one-full-chunk", CHUNK)),
        ("full-chunk-plus-one", "65537 bytes: a full non-final chunk, then a 1-byte final chunk",
         seed("payload/plaintext/full-chunk-plus-one", CHUNK + 1)),
        ("several-chunks", "3 full chunks and a 100-byte final chunk (plaintext given as a "
         "pattern)", cycle(3 * CHUNK + 100)),
    ]  # fmt: skip
    for name, description, plaintext in cases:
        nonce = seed(f"payload/nonce/{name}", NONCE)
        payload = encrypt(plaintext, nonce)
        write(
            f"payload-{name}", "payload", description, "success",
            file_key=FILE_KEY.hex(), age_file_key=AGE_FILE_KEY.hex(), nonce=nonce.hex(),
            **plaintext_fields(plaintext, pattern=len(plaintext) > MAX_INLINE_PLAINTEXT),
            **payload_fields(payload),
        )  # fmt: skip


def failure_vectors() -> None:
    # Three valid payloads, each corrupted in exactly one way below:
    #   small: one 1200-byte final chunk
    #   multi: two full chunks and a 100-byte final chunk (so chunk 1 is a full middle chunk)
    #   full2: two full chunks, the second of which is the final one
    small_nonce = seed("payload/nonce/failure-small", NONCE)
    multi_nonce = seed("payload/nonce/failure-multi", NONCE)
    full2_nonce = seed("payload/nonce/failure-full2", NONCE)
    small_plain = seed("payload/plaintext/failure-small", 1200)
    multi_plain = seed("payload/plaintext/failure-multi", 2 * CHUNK + 100)
    full2_plain = seed("payload/plaintext/failure-full2", 2 * CHUNK)
    small = encrypt(small_plain, small_nonce)
    multi = encrypt(multi_plain, multi_nonce)
    full2 = encrypt(full2_plain, full2_nonce)
    m = chunks(multi_plain, multi_nonce)
    f = chunks(full2_plain, full2_nonce)
    assert [len(c) for c in m] == [SEALED_CHUNK, SEALED_CHUNK, 100 + TAG]
    assert [len(c) for c in f] == [SEALED_CHUNK, SEALED_CHUNK]
    spliced_nonce = seed("payload/nonce/failure-multi-other", NONCE)
    other = chunks(multi_plain, spliced_nonce)

    def vector(name: str, description: str, nonce: bytes, payload: bytes, file_key: bytes) -> None:
        key = age_file_key(file_key)
        try:
            decrypt_payload_bytes(payload, key)
        except IntegrityError:
            pass
        else:
            raise SystemExit(f"payload-{name} decrypts, but claims to fail")
        write(
            f"payload-{name}", "payload", description, "IntegrityError",
            file_key=file_key.hex(), age_file_key=key.hex(), nonce=nonce.hex(),
            **payload_fields(payload),
        )  # fmt: skip

    def join(nonce: bytes, *parts: bytes) -> bytes:
        return nonce + b"".join(parts)

    no_flag = [
        seal_chunk(AGE_FILE_KEY, multi_nonce, i, False, piece)
        for i, piece in enumerate(pieces(multi_plain))
    ]
    extra = seal_chunk(AGE_FILE_KEY, full2_nonce, 2, True, seed("payload/plaintext/extra", 100))
    empty_last = seal_chunk(AGE_FILE_KEY, full2_nonce, 1, True, b"")
    cases = [
        ("wrong-key", "valid 1-chunk payload opened with the age file key of another file key",
         small_nonce, small, OTHER_FILE_KEY),
        ("flipped-nonce", "first byte of the payload nonce flipped", small_nonce,
         flip(small, 0), FILE_KEY),
        ("flipped-tag", "last byte of the final chunk's tag (the last payload byte) flipped",
         small_nonce, flip(small, len(small) - 1), FILE_KEY),
        ("shorter-than-nonce", "only the first 15 bytes of a payload", small_nonce,
         small[: NONCE - 1], FILE_KEY),
        ("nonce-only", "the 16-byte nonce and no chunk at all", small_nonce, small[:NONCE],
         FILE_KEY),
        ("flipped-middle-chunk", "first ciphertext byte of chunk 1 (a full middle chunk) flipped",
         multi_nonce, flip(multi, NONCE + SEALED_CHUNK), FILE_KEY),
        ("truncated-mid-chunk", "payload cut in the middle of chunk 1 (after 32776 of its 65552 "
         "bytes)", multi_nonce, join(multi_nonce, m[0], m[1][: SEALED_CHUNK // 2]), FILE_KEY),
        ("dropped-last-chunk", "final chunk removed: the payload ends after full non-final "
         "chunk 1", multi_nonce, join(multi_nonce, m[0], m[1]), FILE_KEY),
        ("reordered-chunks", "full chunks 0 and 1 swapped", multi_nonce,
         join(multi_nonce, m[1], m[0], m[2]), FILE_KEY),
        ("duplicated-chunk", "chunk 1 written twice (chunks 0, 1, 1, 2)", multi_nonce,
         join(multi_nonce, m[0], m[1], m[1], m[2]), FILE_KEY),
        ("spliced-chunk", "chunk 1 replaced by chunk 1 of a payload of the same plaintext and "
         "key under another nonce", multi_nonce, join(multi_nonce, m[0], other[1], m[2]),
         FILE_KEY),
        ("no-last-flag", "every chunk sealed as non-final, the short last one included",
         multi_nonce, join(multi_nonce, *no_flag), FILE_KEY),
        ("appended-chunk", "after the full final chunk 1, a chunk sealed with counter 2 and the "
         "last flag", full2_nonce, full2 + extra, FILE_KEY),
        ("trailing-byte", "one zero byte after the full final chunk", full2_nonce,
         full2 + b"\x00", FILE_KEY),
        ("empty-final-after-full", "full non-final chunk 0, then an empty final chunk (counter "
         "1, last flag): the first 65536 bytes of the plaintext written in a second, forbidden "
         "way", full2_nonce, join(full2_nonce, f[0], empty_last), FILE_KEY),
    ]  # fmt: skip
    for name, description, nonce, payload, file_key in cases:
        vector(name, description, nonce, payload, file_key)


# -- section 11: age export -----------------------------------------------------------------------


def b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def bech32_text(hrp: str, data: bytes) -> str:
    words = bech32.convertbits(list(data), 8, 5, True)
    assert words is not None
    return str(bech32.bech32_encode(hrp, words))


def age_header(key: bytes, recipient: bytes, ephemeral_secret: bytes) -> bytes:
    """An age v1 header with one X25519 stanza, from the age spec."""
    ephemeral = X25519PrivateKey.from_private_bytes(ephemeral_secret)
    share = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    wrap_key = hkdf(shared, share + recipient, b"age-encryption.org/v1/X25519")
    body = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), key, None)
    encoded = b64(body)
    assert len(encoded) < 64  # 32 bytes: one short body line
    header = b"age-encryption.org/v1\n-> X25519 " + b64(share) + b"\n" + encoded + b"\n---"
    mac = hmac.digest(hkdf(key, b"", b"header"), header, "sha256")
    return header + b" " + b64(mac) + b"\n"


def age_export_vectors() -> None:
    # Alice's age identity: the last 32 bytes of her PrivateKeys in identity-alice.json.
    secret = seed("private-keys/alice", 96)[64:]
    identity = bech32_text("age-secret-key-", secret).upper()
    public = X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()
    recipient = bech32_text("age", public)
    assert identity_from_string(identity).secret == secret
    assert recipient_to_string(public) == recipient
    age = shutil.which("age")
    cases = [
        ("text", "a short UTF-8 text in one chunk",
         "Schade aan de voorgevel na de beving van 16 augustus \u2013 foto's volgen.\n".encode()),
        ("two-chunks", "a full chunk and a 100-byte final chunk (plaintext given as a pattern)",
         cycle(CHUNK + 100)),
    ]  # fmt: skip
    for name, description, plaintext in cases:
        nonce = seed(f"age-export/nonce/{name}", NONCE)
        ephemeral = seed(f"age-export/ephemeral/{name}", 32)
        payload = encrypt(plaintext, nonce)
        header = age_header(AGE_FILE_KEY, public, ephemeral)
        age_file = header + payload
        dst = io.BytesIO()
        decrypt_age(io.BytesIO(age_file), dst, identity=identity_from_string(identity))
        assert dst.getvalue() == plaintext
        if age is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".txt") as keyfile:
                keyfile.write(identity + "\n")
                keyfile.flush()
                run = subprocess.run(
                    [age, "-d", "-i", keyfile.name], input=age_file, capture_output=True, check=True
                )
            assert run.stdout == plaintext
        write(
            f"age-export-{name}", "age-export", "stored payload behind an age X25519 header: "
            + description, "success",
            identity=identity, recipient=recipient, ephemeral_secret=ephemeral.hex(),
            file_key=FILE_KEY.hex(), age_file_key=AGE_FILE_KEY.hex(), nonce=nonce.hex(),
            **plaintext_fields(plaintext, pattern=name == "two-chunks"),
            payload_size=len(payload), payload_blake3=blake3.blake3(payload).hexdigest(),
            header=header.hex(), age_file=age_file.hex(),
        )  # fmt: skip


def main() -> None:
    # Remove this script's old files first, so a renamed scenario leaves no stale vector behind.
    for old in OUT.glob("*.json"):
        if old.name.startswith(PREFIXES):
            old.unlink()
    success_vectors()
    failure_vectors()
    age_export_vectors()
    count = sum(1 for p in OUT.glob("*.json") if p.name.startswith(PREFIXES))
    print(f"wrote {count} payload and age-export vector files to {OUT}")


if __name__ == "__main__":
    main()
