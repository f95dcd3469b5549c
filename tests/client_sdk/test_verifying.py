"""Opening many headers over worker processes: the same answers, and the same failures, as
opening them one by one."""

from __future__ import annotations

import hashlib

import pytest

from client_sdk import verifying
from client_sdk.verifying import HeaderToOpen, open_headers
from vault.errors import IntegrityError, KeyMismatchError, SignatureError
from vault.header import header_hash, seal_header
from vault.index import DossierIndex, IndexEntry, seal_index, verify_index
from vault.keys import PrivateIdentity
from vault.metadata import DocumentMetadata, DossierMetadata


def seed(name: str, size: int) -> bytes:
    return hashlib.shake_256(f"kluis/tests/verifying/{name}".encode()).digest(size)


ANNA = PrivateIdentity.from_private_keys(seed("anna", 16), "anna", 1, seed("anna-keys", 96))
BERT = PrivateIdentity.from_private_keys(seed("bert", 16), "bert", 1, seed("bert-keys", 96))
DOSSIER = seed("dossier", 16)
KEYS = {1: seed("epoch-1", 32), 2: seed("epoch-2", 32)}
COUNT = 60


def header(n: int, author: PrivateIdentity = ANNA) -> HeaderToOpen:
    document_id = seed(f"doc-{n}", 16)
    epoch = 1 + n % 2  # both epochs, so that each worker needs more than one wrap key
    data = seal_header(
        author,
        dossier_id=DOSSIER,
        document_id=document_id,
        version=1,
        epoch=epoch,
        dossier_key=KEYS[epoch],
        file_key=seed(f"file-key-{n}", 32),
        payload_size=100 + n,
        payload_hash=seed(f"payload-{n}", 32),
        metadata=DocumentMetadata(f"foto-{n:03d}.jpg", "image/jpeg", "", n, 1_700_000_000, n),
        created_at=1_700_000_000,
    )
    return document_id, 1, data, author.public


HEADERS = [header(n) for n in range(COUNT)]


def index_of(headers: list[HeaderToOpen]) -> DossierIndex:
    signed = seal_index(
        ANNA,
        dossier_id=DOSSIER,
        counter=1,
        epoch=2,
        dossier_key=KEYS[2],
        metadata=DossierMetadata("Schade Hoofdstraat 1", 1_700_000_000),
        entries=[IndexEntry(d, v, header_hash(h)) for d, v, h, _ in headers],
    )
    return verify_index(signed, dossier_id=DOSSIER, owner=ANNA.public)


INDEX = index_of(HEADERS)


@pytest.fixture(params=[1, 3], ids=["one process", "three workers"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(verifying, "PARALLEL_MIN", 1)  # so that 60 headers use the workers
    return int(request.param)


def open_all(headers: list[HeaderToOpen], workers: int, index: DossierIndex = INDEX) -> list[str]:
    opened = open_headers(
        headers, dossier_id=DOSSIER, dossier_keys=KEYS, index=index, workers=workers
    )
    return [m.name for m in opened]


def test_every_header_opens_in_order(workers: int) -> None:
    assert open_all(HEADERS, workers) == [f"foto-{n:03d}.jpg" for n in range(COUNT)]


def test_nothing_to_open(workers: int) -> None:
    assert open_all([], workers) == []


def test_fewer_headers_than_workers(workers: int) -> None:
    assert open_all(HEADERS[:2], workers) == ["foto-000.jpg", "foto-001.jpg"]


def test_a_header_by_another_author_is_checked_by_its_own_signature(workers: int) -> None:
    headers = [*HEADERS[:40], header(40, BERT), *HEADERS[41:]]
    assert open_all(headers, workers, index_of(headers))[40] == "foto-040.jpg"
    d, v, data, author = headers[40]
    headers[40] = (d, v, data[:-1] + bytes([data[-1] ^ 1]), author)
    # Anna's index lists the broken bytes, but Anna is not their author.
    with pytest.raises(SignatureError):
        open_all(headers, workers, index_of(headers))


def test_a_changed_header_in_a_later_batch_fails_the_whole_listing(workers: int) -> None:
    d, v, data, author = HEADERS[47]
    broken = [*HEADERS]
    broken[47] = (d, v, data[:-1] + bytes([data[-1] ^ 1]), author)  # not what the index lists
    with pytest.raises(SignatureError):
        open_all(broken, workers)


def test_a_header_under_a_missing_epoch_key_fails(workers: int) -> None:
    with pytest.raises(IntegrityError, match="no dossier key for epoch 2"):
        open_headers(
            HEADERS, dossier_id=DOSSIER, dossier_keys={1: KEYS[1]}, index=INDEX, workers=workers
        )


def test_an_author_who_is_not_the_trusted_one_fails(workers: int) -> None:
    d, v, data, _ = HEADERS[13]
    wrong = [*HEADERS]
    wrong[13] = (d, v, data, BERT.public)
    with pytest.raises(KeyMismatchError):
        open_all(wrong, workers)


def test_a_header_asked_for_as_another_document_fails(workers: int) -> None:
    swapped = [*HEADERS]
    swapped[20] = (HEADERS[21][0], 1, HEADERS[20][2], ANNA.public)
    with pytest.raises(IntegrityError, match="swapped"):
        open_all(swapped, workers)
