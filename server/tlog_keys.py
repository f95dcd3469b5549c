"""The key transparency log's three secrets (docs/format.md section 17) and what they publish.

- the **log key** signs checkpoints; its verifier key `<origin>+<key ID>+<base64>` is what an
  operator publishes and `kluis server` prints at start;
- the **VRF key** labels names (ECVRF, section 17.1): only the server can compute a label;
- the **operator key** signs verification statements (section 17.2) and is itself logged.

Each is a 32-byte Ed25519 seed, given as 64 hex digits (`KLUIS_LOG_KEY`, `KLUIS_VRF_KEY`,
`KLUIS_OPERATOR_KEY`) or generated on first start into the data directory (mode 0600, never
replaced), like the server secret. A given seed that is a placeholder (few distinct bytes) is
refused: a guessable log key lets anyone sign checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import nacl.signing
from pydantic import SecretStr

from vault import vrf
from vault.checkpoint import kluis_origin
from vault.logentry import Namespace, prove_label
from vault.note import Ed25519Signer

from .config import InsecureSecretError, Settings, load_or_create_secret

SEED_BYTES = 32
MIN_DISTINCT_BYTES = 16  # 32 random bytes have ~31 distinct values; a placeholder has few


def _seed(given: SecretStr | None, settings: Settings, file_name: str, variable: str) -> bytes:
    if given is None:
        return load_or_create_secret(settings.data_dir / file_name)[:SEED_BYTES]
    text = given.get_secret_value().strip()
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        seed = b""
    if len(seed) != SEED_BYTES:
        raise InsecureSecretError(f"{variable} is 64 hex digits (a 32-byte Ed25519 seed)")
    if len(set(seed)) < MIN_DISTINCT_BYTES:
        raise InsecureSecretError(
            f"{variable} is a placeholder value; set 64 random hex digits (for example "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`) or unset it to let "
            "the server generate one in the data directory"
        )
    return seed


@dataclass(frozen=True, repr=False)
class LogKeys:
    origin: str
    log_seed: bytes
    vrf_seed: bytes
    operator_seed: bytes

    def __repr__(self) -> str:
        return f"LogKeys(origin={self.origin!r}, <seeds hidden>)"

    @classmethod
    def of(cls, settings: Settings) -> LogKeys:
        return cls(
            origin=kluis_origin(settings.log_host),
            log_seed=_seed(settings.log_key, settings, "log-key", "KLUIS_LOG_KEY"),
            vrf_seed=_seed(settings.vrf_key, settings, "vrf-key", "KLUIS_VRF_KEY"),
            operator_seed=_seed(
                settings.operator_key, settings, "operator-key", "KLUIS_OPERATOR_KEY"
            ),
        )

    @cached_property
    def signer(self) -> Ed25519Signer:
        return Ed25519Signer(self.origin, self.log_seed)

    @property
    def verifier_key(self) -> str:
        """The log key in C2SP verifier-key form, `<origin>+<key ID>+<base64>`."""
        return self.signer.verifier.vkey

    @cached_property
    def operator_public_key(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.operator_seed).verify_key)

    @cached_property
    def vrf_public_key(self) -> bytes:
        return vrf.public_key(self.vrf_seed)

    def label(self, namespace: Namespace, name: str) -> tuple[bytes, bytes]:
        """(label, VRF proof) of a name."""
        return prove_label(self.vrf_seed, namespace, name)
