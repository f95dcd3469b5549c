"""Backup and restore as docs/deployment.md describes it: `pg_dump` of the database first, a copy
of the payloads after it; `pg_restore` into a new database, a server on the restored database
and payloads, and the real client reads every document back, verified."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from client_sdk import Client

from ..conftest import LiveServerFactory
from .postgres import PostgresDatabase

PASSPHRASE = "a passphrase for the backup test"


def test_pg_dump_and_a_blob_copy_restore_every_document(
    live_server_factory: LiveServerFactory,
    server_env: dict[str, str],
    tmp_path: Path,
) -> None:
    server = live_server_factory(env=server_env)
    originals = {}
    profile = str(tmp_path / "anna")
    with Client(server.url, profile) as anna:
        anna.register("anna", PASSPHRASE)
        dossier_id = anna.create_dossier("Schade Hoofdstraat 12")
        for n, size in enumerate((1, 70_000, 1_200_000)):
            path = tmp_path / f"document-{n}.pdf"
            path.write_bytes(os.urandom(size))
            originals[anna.add(dossier_id, path).document_id] = path.read_bytes()

    source = server_env["KLUIS_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    dump = tmp_path / "kluis.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], check=True)
    blobs_copy = tmp_path / "restored-blobs"
    shutil.copytree(server_env["KLUIS_BLOB_DIR"], blobs_copy)  # payloads after the database
    server.stop()

    restored = PostgresDatabase.create("kluis_restore")
    try:
        restore = ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored.libpq_url}"]
        subprocess.run([*restore, str(dump)], check=True)
        env = {
            **server_env,
            "KLUIS_DATABASE_URL": restored.url,
            "KLUIS_BLOB_DIR": str(blobs_copy),
        }
        second = live_server_factory(env=env)  # starts: the restored schema is at head
        with Client(second.url, profile) as anna:
            anna.login("anna", PASSPHRASE)
            listed = anna.documents(dossier_id)
            assert {info.document_id for info in listed} == set(originals)
            for document_id, content in originals.items():
                _, copy = anna.get(document_id, tmp_path / "copy", overwrite=True)
                assert copy.read_bytes() == content
            assert [e.action for e in anna.access_log(dossier_id)].count("download") == 3
        second.stop()
    finally:
        restored.drop()
    with psycopg.connect(source) as conn:  # the original is untouched by all this
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (3,)
