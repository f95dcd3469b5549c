"""RFC 3161 timestamps over a version's evidence commitment, from an independent time-stamping
authority (a TSA), when the deployment names one (docs/format.md section 20.2).

`KLUIS_TSA_URL` is the TSA's address; `KLUIS_TSA_ROOT` a PEM file with the root certificate(s)
the client trusts for it (never taken from the TSA's answer). The request is built and the
answer checked by `rfc3161-client` (no hand-written ASN.1): the request is over the
commitment's input with SHA-256, so the token's message imprint is the commitment itself, and
`openssl ts -verify -digest <commitment> -in timestamp.tsr -CAfile tsa-root.pem` checks it
too. The token is kept on this device, next to the profile, and goes into the version's
evidence package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from vault.errors import IntegrityError, MalformedError

from .errors import ClientError
from .files import write_private
from .folders import PRIVATE_DIR

TSA_URL_ENV = "KLUIS_TSA_URL"
TSA_ROOT_ENV = "KLUIS_TSA_ROOT"
TIMESTAMPS_DIR = "timestamps"
TIMEOUT = 30.0


@dataclass(frozen=True)
class Tsa:
    url: str
    roots: tuple[x509.Certificate, ...]
    root_pem: bytes


def configured_tsa(environ: Mapping[str, str] | None = None) -> Tsa | None:
    """The TSA the deployment names (None without `KLUIS_TSA_URL`; ClientError for a URL
    without a root to check it by, or a root file that is not PEM certificates)."""
    env = os.environ if environ is None else environ
    url = env.get(TSA_URL_ENV, "").strip()
    if not url:
        return None
    root_file = env.get(TSA_ROOT_ENV, "").strip()
    if not root_file:
        raise ClientError(f"{TSA_URL_ENV} needs {TSA_ROOT_ENV}: the TSA's root certificate")
    try:
        pem = Path(root_file).read_bytes()
        roots = tuple(x509.load_pem_x509_certificates(pem))
    except (OSError, ValueError) as exc:
        raise ClientError(f"{TSA_ROOT_ENV}: {exc}") from None
    return Tsa(url, roots, pem)


def check_timestamp(
    tsa: Tsa, response: bytes, commitment: bytes, nonce: int | None = None
) -> datetime:
    """The time a TSA response states for `commitment`, after checking it against the trusted
    roots (MalformedError if it does not parse, IntegrityError if it does not verify: another
    hash, another TSA, a changed token)."""
    try:
        parsed = decode_timestamp_response(response)
    except ValueError as exc:
        raise MalformedError(f"timestamp: not an RFC 3161 response ({exc})") from None
    builder = VerifierBuilder()
    for root in tsa.roots:
        builder = builder.add_root_certificate(root)
    if nonce is not None:
        builder = builder.nonce(nonce)
    try:
        builder.build().verify(parsed, commitment)
    except (VerificationError, ValueError) as exc:
        raise IntegrityError(f"timestamp: the TSA's token does not hold ({exc})") from None
    return parsed.tst_info.gen_time


def request_timestamp(tsa: Tsa, commitment_input: bytes, commitment: bytes) -> bytes:
    """Ask the TSA for a token over the commitment; the response, checked."""
    request = (
        TimestampRequestBuilder()
        .data(commitment_input)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    if request.message_imprint.message != commitment:  # the library hashed what we meant
        raise ValueError("timestamp request: the imprint is not the commitment")
    try:
        answer = httpx.post(
            tsa.url,
            content=request.as_bytes(),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise ClientError(f"the time-stamping authority did not answer: {exc}") from None
    check_timestamp(tsa, answer.content, commitment, request.nonce)
    return answer.content


def token_path(profile_dir: Path, document_id: str, version: int) -> Path:
    return profile_dir / TIMESTAMPS_DIR / f"{document_id}.{version}.tsr"


def keep_token(profile_dir: Path, document_id: str, version: int, response: bytes) -> None:
    path = token_path(profile_dir, document_id, version)
    path.parent.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    write_private(path, response)
