"""Write the test vectors of docs/format.md sections 2-5 (kdf, fingerprint, identity, bundle,
recovery) into tests/vectors/, one JSON file per scenario.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_keys.py
Every input is fixed (seeds, salts, nonces, passphrases), so running it again writes the same
bytes; a diff after a run means the format or the implementation changed. The field layout of
each structure is described in tests/vectors/README.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any

from vault import labels
from vault.bundle import BundlePurpose, _seal_bundle_from_parts
from vault.encoding import Writer
from vault.errors import InvalidRecoveryCode
from vault.identity import FORMAT_VERSION, IDENTITY_MAGIC, fingerprint_digest
from vault.kdf import (
    DEFAULT_ITERATIONS,
    DEFAULT_MEMORY_KIB,
    KdfParams,
    PassphraseKeys,
    derive_master_key,
)
from vault.keys import PrivateIdentity
from vault.recovery import RecoveryCode, RecoveryKeys, format_recovery_code

OUT = Path(__file__).resolve().parent
PASSPHRASE = "correct horse battery staple ✓"
# "Café Groningen ✓" with a precomposed é (NFC) and with e + U+0301 (NFD): same key.
PASSPHRASE_NFC = unicodedata.normalize("NFC", "Caf\u00e9 Groningen \u2713")
PASSPHRASE_NFD = unicodedata.normalize("NFD", PASSPHRASE_NFC)
assert PASSPHRASE_NFC != PASSPHRASE_NFD


def seed(name: str, size: int) -> bytes:
    """Fixed pseudo-random bytes, named so that every vector input is reproducible."""
    return hashlib.shake_256(f"kluis/test-vectors/{name}".encode()).digest(size)


def write(name: str, structure: str, description: str, expect: str, **fields: Any) -> None:
    # ASCII-only JSON (\u escapes): an editor cannot silently re-normalise the NFD passphrase.
    doc = {"structure": structure, "description": description, "expect": expect, **fields}
    (OUT / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")


def params_json(params: KdfParams) -> dict[str, Any]:
    return {
        "algorithm": params.algorithm,
        "memory_kib": params.memory_kib,
        "iterations": params.iterations,
        "parallelism": params.parallelism,
        "salt": params.salt.hex(),
    }


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


# -- section 2: KDF -------------------------------------------------------------------------------


def kdf_vectors() -> None:
    salt = seed("kdf/salt", 16)
    default = KdfParams(1, DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS, 1, salt)

    def success(
        name: str, description: str, passphrase: str, params: KdfParams, **extra: Any
    ) -> None:
        master = derive_master_key(passphrase, params)
        keys = PassphraseKeys.from_master_key(master, params)
        write(
            name, "kdf", description, "success",
            params=params_json(params), params_encoded=params.encode().hex(),
            previous=extra.get("previous"), passphrase=passphrase,
            passphrase_utf8=unicodedata.normalize("NFC", passphrase).encode().hex(),
            master_key=master.hex(), auth_key=keys.auth_key.hex(),
            bundle_key=keys.bundle_key.hex(),
        )  # fmt: skip

    success("kdf-default", "default parameters, UTF-8 passphrase", PASSPHRASE, default)
    nfc_salt = KdfParams(1, DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS, 1, seed("kdf/nfc", 16))
    success("kdf-nfc-passphrase", "precomposed (NFC) passphrase", PASSPHRASE_NFC, nfc_salt)
    success(
        "kdf-nfd-passphrase",
        "decomposed (NFD) passphrase: normalised to NFC, same keys as kdf-nfc-passphrase",
        PASSPHRASE_NFD,
        nfc_salt,
    )
    stronger = KdfParams(1, DEFAULT_MEMORY_KIB, 4, 1, salt)
    success(
        "kdf-more-iterations",
        "4 iterations, above the 3 used before: allowed",
        PASSPHRASE,
        stronger,
        previous=params_json(default),
    )

    def refused(
        name: str, description: str, params: KdfParams, previous: KdfParams | None = None
    ) -> None:
        write(
            name, "kdf", description, "DowngradeError",
            params=params_json(params), params_encoded=params.encode().hex(),
            previous=params_json(previous) if previous else None, passphrase=PASSPHRASE,
        )  # fmt: skip

    refusals = [
        ("memory-below-floor", "memory 65535 KiB < 65536", KdfParams(1, 65535, 3, 1, salt), None),
        ("iterations-below-floor", "2 iterations < 3", KdfParams(1, 65536, 2, 1, salt), None),
        ("parallelism-2", "parallelism must be 1", KdfParams(1, 65536, 3, 2, salt), None),
        ("algorithm-2", "algorithm must be 1 (Argon2id)", KdfParams(2, 65536, 3, 1, salt), None),
        ("memory-above-ceiling", "memory 4194305 KiB > 4194304", KdfParams(1, 4194305, 3, 1, salt),
         None),
        ("iterations-above-ceiling", "65 iterations > 64", KdfParams(1, 65536, 65, 1, salt), None),
        ("memory-below-previous", "64 MiB after this account used 128 MiB", default,
         KdfParams(1, 131072, 3, 1, salt)),
        ("iterations-below-previous", "3 iterations after this account used 4", default, stronger),
    ]  # fmt: skip
    for name, description, params, previous in refusals:
        refused(f"kdf-{name}", description, params, previous)
    write("kdf-params-truncated", "kdf", "KdfParams encoding one byte short (15-byte salt)",
          "MalformedError", params=None, params_encoded=default.encode()[:-1].hex(),
          previous=None, passphrase=PASSPHRASE)  # fmt: skip


# -- section 3: identity and fingerprint ----------------------------------------------------------


def identity(name: str, username: str = "alice", key_version: int = 1) -> PrivateIdentity:
    return PrivateIdentity.from_private_keys(
        seed(f"user-id/{name}", 16), username, key_version, seed(f"private-keys/{name}", 96)
    )


def fingerprint_vectors() -> None:
    for name in ("alice", "bob"):
        public = identity(name).public
        digest = fingerprint_digest(public.signing_key, public.box_key)
        write(
            f"fingerprint-{name}",
            "fingerprint",
            f"fingerprint of {name}'s public keys (groups keep leading zeros)",
            "success",
            signing_key=public.signing_key.hex(),
            box_key=public.box_key.hex(),
            digest=digest.hex(),
            key_id=public.key_id.hex(),
            fingerprint=public.fingerprint,
        )
    # At least one vector must show a zero-padded group.
    assert any(
        g.startswith("0") for n in ("alice", "bob") for g in identity(n).public.fingerprint.split()
    )


def signed_record(
    owner: PrivateIdentity,
    *,
    magic: bytes = IDENTITY_MAGIC,
    version: int = FORMAT_VERSION,
    key_version: int = 1,
    username: bytes = b"alice",
    signer: PrivateIdentity | None = None,
) -> bytes:
    """An identity record built field by field (bypassing checks), signed by `signer`."""
    public = owner.public
    body = (
        Writer().raw(magic).u8(version).raw(owner.user_id).u32(key_version).vbytes(username)
        .raw(public.signing_key).raw(public.box_key).getvalue()
    )  # fmt: skip
    return body + (signer or owner).sign(labels.IDENTITY_SIGNATURE, body)


def identity_vectors() -> None:
    alice = identity("alice")
    record = alice.public.encode()
    assert signed_record(alice) == record
    public = alice.public
    write(
        "identity-alice",
        "identity",
        "identity record made from fixed private keys",
        "success",
        private_keys=alice.private_keys().hex(),
        user_id=alice.user_id.hex(),
        key_version=1,
        username="alice",
        signing_key=public.signing_key.hex(),
        box_key=public.box_key.hex(),
        identity=record.hex(),
        key_id=public.key_id.hex(),
        fingerprint=public.fingerprint,
    )
    cases = [
        ("bad-signature", "one bit of the signature flipped", "SignatureError",
         flip(record, len(record) - 1)),
        ("tampered-box-key", "box_key changed after signing", "SignatureError",
         flip(record, len(record) - 65)),
        ("tampered-username", "username changed to another valid name after signing",
         "SignatureError", record.replace(b"alice", b"alicf")),
        ("signed-by-other-key", "a well-formed record signed by another user's key",
         "SignatureError", signed_record(alice, signer=identity("mallory"))),
        ("wrong-magic", "magic KLIX instead of KLID", "MalformedError",
         signed_record(alice, magic=b"KLIX")),
        ("wrong-version", "format version 2", "MalformedError", signed_record(alice, version=2)),
        ("trailing-byte", "one byte after the signature", "MalformedError", record + b"\x00"),
        ("truncated", "last byte of the signature missing", "MalformedError", record[:-1]),
        ("bad-username", "upper-case username, correctly signed", "MalformedError",
         signed_record(alice, username=b"Alice")),
        ("empty-username", "empty username, correctly signed", "MalformedError",
         signed_record(alice, username=b"")),
        ("username-too-long", "65-byte username, correctly signed", "MalformedError",
         signed_record(alice, username=b"a" * 65)),
        ("key-version-zero", "key version 0, correctly signed", "MalformedError",
         signed_record(alice, key_version=0)),
    ]  # fmt: skip
    for name, description, expect, data in cases:
        write(f"identity-{name}", "identity", description, expect, identity=data.hex())


# -- section 4: key bundle ------------------------------------------------------------------------


def bundle_vectors() -> None:
    alice = identity("alice")
    master = seed("bundle/master-key", 32)
    entropy = seed("bundle/recovery-entropy", 32)
    params = KdfParams(1, DEFAULT_MEMORY_KIB, DEFAULT_ITERATIONS, 1, seed("bundle/salt", 16))
    pkeys = PassphraseKeys.from_master_key(master, params)
    rkeys = RecoveryKeys.from_entropy(entropy)

    def seal(purpose: BundlePurpose, kdf: KdfParams | None = None, **change: Any) -> bytes:
        parts: dict[str, Any] = {
            "purpose": purpose,
            "user_id": alice.user_id,
            "key_version": 1,
            "kdf_params": (kdf or params) if purpose is BundlePurpose.PASSPHRASE else None,
            "key": (pkeys if purpose is BundlePurpose.PASSPHRASE else rkeys).bundle_key,
            "nonce": seed(f"bundle/nonce/{purpose}", 24),
        }
        parts.update(change)
        return _seal_bundle_from_parts(alice.private_keys(), **parts)

    def vector(
        name: str, description: str, expect: str, purpose: int, data: bytes, **over: Any
    ) -> None:
        fields: dict[str, Any] = {
            "purpose": purpose,
            "user_id": alice.user_id.hex(),
            "key_version": 1,
            "username": "alice",
        }
        if purpose == BundlePurpose.PASSPHRASE:
            fields.update(master_key=master.hex(), bundle_key=pkeys.bundle_key.hex())
        else:
            fields.update(recovery_entropy=entropy.hex(), bundle_key=rkeys.bundle_key.hex())
        fields.update(bundle=data.hex(), pinned_identity=alice.public.encode().hex())
        fields.update(over)
        write(f"bundle-{name}", "bundle", description, expect, **fields)

    passphrase_bundle = seal(BundlePurpose.PASSPHRASE)
    recovery_bundle = seal(BundlePurpose.RECOVERY)
    out: dict[str, Any] = {
        "kdf_params": params_json(params),
        "nonce": seed("bundle/nonce/1", 24).hex(),
        "private_keys": alice.private_keys().hex(),
        "signing_key": alice.public.signing_key.hex(),
        "box_key": alice.public.box_key.hex(),
    }
    vector("passphrase", "purpose 1 bundle opened with the passphrase key", "success", 1,
           passphrase_bundle, **out)  # fmt: skip
    out.update(kdf_params=None, nonce=seed("bundle/nonce/2", 24).hex())
    vector("recovery", "purpose 2 bundle opened with the recovery key", "success", 2,
           recovery_bundle, **out)  # fmt: skip

    p, r = passphrase_bundle, recovery_bundle
    tag_end, nonce_start = len(p) - 1, len(p) - 112 - 24
    wrong = [
        ("flipped-tag", "last byte of the tag flipped", 1, flip(p, tag_end)),
        ("flipped-ciphertext", "first ciphertext byte flipped", 1, flip(p, nonce_start + 24)),
        ("flipped-nonce", "first nonce byte flipped", 1, flip(p, nonce_start)),
        ("flipped-salt", "a KdfParams salt byte flipped (covered by the AD)", 1,
         flip(p, nonce_start - 1)),
        ("truncated", "last byte missing", 1, p[:-1]),
        ("trailing-byte", "one byte after the ciphertext", 1, p + b"\x00"),
        ("wrong-magic", "magic KLKC", 1, b"KLKC" + p[4:]),
        ("wrong-version", "format version 2", 1, p[:4] + b"\x02" + p[5:]),
        ("recovery-bundle-as-passphrase", "a purpose 2 bundle opened as purpose 1", 1, r),
        ("passphrase-bundle-as-recovery", "a purpose 1 bundle opened as purpose 2", 2, p),
        ("purpose-byte-changed", "purpose byte of a recovery bundle set to 1", 2,
         r[:5] + b"\x01" + r[6:]),
        ("flipped-recovery-tag", "last tag byte of a recovery bundle flipped", 2,
         flip(r, len(r) - 1)),
        ("sealed-for-other-user", "sealed (validly) under another user id", 1,
         seal(BundlePurpose.PASSPHRASE, user_id=seed("user-id/bob", 16))),
        ("sealed-for-other-key-version", "sealed (validly) for key version 2", 1,
         seal(BundlePurpose.PASSPHRASE, key_version=2)),
    ]  # fmt: skip
    for name, description, purpose, data in wrong:
        vector(name, description, "WrongPassphrase", purpose, data)
    vector("wrong-user-id-expected", "the caller expects another user id", "WrongPassphrase",
           1, p, user_id=seed("user-id/bob", 16).hex())  # fmt: skip
    vector("wrong-key-version-expected", "the caller expects key version 2", "WrongPassphrase",
           1, p, key_version=2)  # fmt: skip
    other_master = seed("bundle/other-master-key", 32)
    other_key = PassphraseKeys.from_master_key(other_master, params).bundle_key
    vector("wrong-passphrase", "master key of another passphrase", "WrongPassphrase", 1, p,
           master_key=other_master.hex(), bundle_key=other_key.hex())  # fmt: skip
    weak = KdfParams(1, 32768, DEFAULT_ITERATIONS, 1, params.salt)
    vector("kdf-below-floor", "valid bundle whose KdfParams use 32 MiB: refused before any "
           "derivation", "DowngradeError", 1, seal(BundlePurpose.PASSPHRASE, kdf=weak))  # fmt: skip
    mallory = PrivateIdentity.from_private_keys(
        alice.user_id, "alice", 1, seed("private-keys/mallory", 96)
    )
    impostor = _seal_bundle_from_parts(
        mallory.private_keys(),
        purpose=BundlePurpose.PASSPHRASE,
        user_id=alice.user_id,
        key_version=1,
        kdf_params=params,
        key=pkeys.bundle_key,
        nonce=seed("bundle/nonce/1", 24),
    )
    vector("pinned-identity-mismatch", "opens, but the keys inside are not the pinned ones",
           "KeyMismatchError", 1, impostor)  # fmt: skip


# -- section 5: recovery code ---------------------------------------------------------------------


def recovery_vectors() -> None:
    def success(name: str, description: str, entropy: bytes, typed: str | None = None) -> None:
        code = RecoveryCode(entropy)
        keys = code.keys()
        write(
            f"recovery-{name}", "recovery", description, "success",
            input=typed if typed is not None else code.phrase, entropy=entropy.hex(),
            words=code.phrase, recovery_auth_key=keys.auth_key.hex(),
            recovery_bundle_key=keys.bundle_key.hex(),
        )  # fmt: skip

    entropy = seed("recovery/entropy", 32)
    words = list(RecoveryCode(entropy).words)
    success("success", "24 words, single spaces", entropy)
    messy = "  " + "\t".join(w.upper() if i % 2 else w.capitalize() for i, w in enumerate(words))
    success("messy-input", "mixed case, tabs, newline and extra spaces", entropy,
            messy.replace("\t", "\n  ", 5) + " \n")  # fmt: skip
    success("all-zero", "32 zero bytes: the BIP-39 reference phrase", bytes(32))
    printed = format_recovery_code(words)
    success("as-printed", "pasted as registration prints it: numbered rows of four", entropy,
            printed + "\n")  # fmt: skip
    punctuated = "\r\n".join(
        f"{i}. {w.upper() if i % 3 == 0 else w.capitalize() if i % 3 == 1 else w},\t"
        for i, w in enumerate(words, 1)
    )
    success("numbers-and-punctuation",
            "numbered one per line with full stops, commas, tabs, CRLF and mixed case", entropy,
            punctuated + ";")  # fmt: skip
    non_ascii = "\ufeff" + "".join(
        w + ("\u00a0", "\u2014", "\u3000", " \u2022 ", "\u2026\n")[i % 5]
        for i, w in enumerate(words)
    )
    success("non-ascii-separators",
            "a byte-order mark, no-break spaces, em dashes, ideographic spaces, bullets and "
            "ellipses between the words: every non-ASCII character is a separator", entropy,
            non_ascii)  # fmt: skip

    def invalid(name: str, description: str, typed: str) -> None:
        # A replaced or swapped word passes the 8-bit checksum once in 256: make sure it fails.
        with contextlib.suppress(InvalidRecoveryCode):
            RecoveryCode.parse(typed)
            raise SystemExit(f"recovery-{name} parses, but claims to fail")
        write(f"recovery-{name}", "recovery", description, "InvalidRecoveryCode", input=typed)

    bad_last = "zoo" if words[-1] != "zoo" else "zone"
    invalid("bad-checksum", "last word replaced: checksum fails", " ".join([*words[:-1], bad_last]))
    swapped = [words[1], words[0], *words[2:]]
    assert swapped != words
    invalid("swapped-words", "first two words swapped: checksum fails", " ".join(swapped))
    invalid(
        "unknown-word",
        "word 5 is not in the word list",
        " ".join([*words[:4], "kluis", *words[5:]]),
    )
    invalid("23-words", "the last word missing", " ".join(words[:-1]))
    invalid("25-words", "one word too many", " ".join([*words, words[0]]))
    invalid("empty", "nothing typed", "   ")
    rows = printed.splitlines()
    invalid("as-printed-23-words", "as printed, the last word of row 3 not copied",
            "\n".join([*rows[:2], rows[2].rsplit(" ", 1)[0], *rows[3:]]))  # fmt: skip
    invalid("as-printed-unknown-word", "as printed, word 7 misspelt",
            format_recovery_code([*words[:6], words[6] + "x", *words[7:]]))  # fmt: skip
    invalid("as-printed-bad-checksum", "as printed, the last word replaced: checksum fails",
            format_recovery_code([*words[:-1], bad_last]))  # fmt: skip
    invalid(
        "accented-letter",
        "word 1 with an accented o: a non-ASCII letter is a separator, not folded to o",
        " ".join([words[0].replace("o", "\u00f3", 1), *words[1:]]),
    )
    invalid("digit-inside-word", "a digit inside word 2: a digit separates, it is not dropped",
            " ".join([words[0], words[1][:2] + "1" + words[1][2:], *words[2:]]))  # fmt: skip


def main() -> None:
    for old in OUT.glob("*.json"):
        if old.name.split("-")[0] in {"kdf", "fingerprint", "identity", "bundle", "recovery"}:
            old.unlink()
    kdf_vectors()
    fingerprint_vectors()
    identity_vectors()
    bundle_vectors()
    recovery_vectors()
    print(f"wrote {len(list(OUT.glob('*.json')))} vector files to {OUT}")


if __name__ == "__main__":
    main()
