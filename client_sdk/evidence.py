"""Evidence packages: proof, checkable without Kluis, that a document version existed by a time
(docs/format.md section 20, docs/user-guide.md "Bewijs").

A package is a folder with the file, `evidence.json` (its SHA-256, the salt, the log entry, the
inclusion proof, the log's and the witnesses' keys and the quorum), `checkpoint.txt` (the
witnessed checkpoint as a signed note), `verify.py` (a check with the Python standard library
only) and `LEESMIJ.txt` (what it proves and what it does not, in Dutch and English). Before any
of it is written the client makes every check the script makes (vault.evidence), with the
log's parameters it was configured with, never the server's word: a proof that does not hold
is a SecurityError and no package is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vault.checkpoint import TrustedLog
from vault.evidence import Proven, evidence_salt, file_sha256, verify_evidence
from vault.header import OpenedHeader

from .api import VersionRecord
from .commitments import LOG_KEY_ENV, ServedEvidence, trusted_log
from .documents import DocumentsMixin
from .errors import ClientError
from .files import write_private
from .folders import PRIVATE_DIR, check_target, staged_folder
from .timestamps import check_timestamp, configured_tsa, token_path

EVIDENCE_FILE = "evidence.json"
CHECKPOINT_FILE = "checkpoint.txt"
SCRIPT_FILE = "verify.py"
EXPLANATION_FILE = "LEESMIJ.txt"
PACKAGE_FORMAT = "kluis-evidence-1"
SCRIPT_SOURCE = Path(__file__).with_name("evidence_verify.py")
DOING = "write the evidence package"
TIMESTAMP_FILE = "timestamp.tsr"
TSA_ROOT_FILE = "tsa-root.pem"
TSA_NL = """
Tijdstempel van een onafhankelijke tijdstempeldienst (RFC 3161)
    De dienst verklaart dat de vingerafdruk bestond op {time}. Controleer met:
    {command}
"""
TSA_EN = """
Timestamp from an independent time-stamping authority (RFC 3161)
    The authority states that the commitment existed at {time}. Check with:
    {command}
"""

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
          "september", "oktober", "november", "december")  # fmt: skip

EXPLANATION = """\
BEWIJS UIT KLUIS: {name}

Wat dit bewijst
    Dit bestand bestond uiterlijk op {dutch}.
    Precies deze bytes: als er ook maar een teken in het bestand verandert, klopt het bewijs
    niet meer. Kluis zette een vingerafdruk (hash) van het bestand, met zout gemengd, in een
    openbaar logboek dat niet kan worden herschreven. {witnesses} onafhankelijke getuigen
    ({names}) hebben dat logboek ondertekend; de tijd hierboven is die van hun handtekeningen.

Wat dit NIET bewijst
    - dat de foto of het rapport laat zien wat de bewoner zegt;
    - waar de foto is gemaakt, of door wie;
    - dat het bestand niet al eerder bestond (het bewijst alleen "uiterlijk op").

Zelf controleren, zonder Kluis
    python3 verify.py
    Het script gebruikt alleen Python. Vergelijk de sleutels die het noemt met die de beheerder
    van Kluis en de getuigen openbaar maken (of geef ze mee met --log-key en --witness).
{tsa_nl}
EVIDENCE FROM KLUIS: {name}

What this proves
    This file existed no later than {english}.
    Exactly these bytes: change one character and the proof fails. Kluis put a salted hash of
    the file in a public append-only log; {witnesses} independent witnesses ({names}) signed
    that log, and the time above is that of their signatures.

What this does NOT prove
    - that the photo or report shows what the resident says it shows;
    - where the photo was taken, or by whom;
    - that the file did not exist earlier (it proves "no later than" only).

Check it yourself, without Kluis
    python3 verify.py
    The script needs only Python. Compare the keys it names with those the Kluis operator and
    the witnesses publish (or give them with --log-key and --witness).
{tsa_en}"""


def dutch_time(when: int) -> str:
    """`3 december 2026 om 14:02 (Nederlandse tijd)`, or in UTC without a time zone database."""
    try:
        local = datetime.fromtimestamp(when, ZoneInfo("Europe/Amsterdam"))
        zone = "Nederlandse tijd"
    except ZoneInfoNotFoundError:
        local, zone = datetime.fromtimestamp(when, UTC), "UTC"
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} om {local:%H:%M} ({zone})"


def english_time(when: int) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%d %B %Y at %H:%M UTC")


def required_log() -> TrustedLog:
    """The log's parameters (commitments.trusted_log); a package needs them (ClientError)."""
    log = trusted_log()
    if log is None:
        raise ClientError(
            f"set {LOG_KEY_ENV} to the log key the operator publishes (and KLUIS_LOG_WITNESSES): "
            "evidence is checked against those, not against what the server says"
        )
    return log


@dataclass(frozen=True)
class Stamp:
    """A TSA's RFC 3161 response over the commitment, checked, with the root it was checked by."""

    response: bytes
    time: datetime
    root_pem: bytes


@dataclass(frozen=True)
class Evidence:
    """A version's evidence, checked."""

    record: VersionRecord
    file_hash: bytes
    salt: bytes
    served: ServedEvidence
    proven: Proven
    stamp: Stamp | None = None

    def openssl_command(self) -> str:
        commitment = (self.proven.entry.digest or b"").hex()
        files = f"-in {TIMESTAMP_FILE} -CAfile {TSA_ROOT_FILE}"
        return f"openssl ts -verify -digest {commitment} {files}"

    def json(self, file: str, log: TrustedLog) -> dict[str, Any]:
        return {
            "format": PACKAGE_FORMAT,
            "file": file,
            "document_id": self.record.document_id,
            "version": self.record.version,
            "sha256": self.file_hash.hex(),
            "salt": self.salt.hex(),
            "commitment": (self.proven.entry.digest or b"").hex(),
            **self.served.json(),
            "checkpoint": CHECKPOINT_FILE,
            "log": {
                "origin": log.origin,
                "log_key": log.key.vkey,
                "witnesses": [w.vkey for w in log.witnesses.witnesses],
                "quorum": log.witnesses.threshold,
            },
            "existed_by": self.proven.existed_by,
            "timestamp": None
            if self.stamp is None
            else {
                "token": TIMESTAMP_FILE,
                "root": TSA_ROOT_FILE,
                "time": self.stamp.time.isoformat(),
                "openssl": self.openssl_command(),
            },
        }


def write_package(out: Path, file: str, evidence: Evidence, log: TrustedLog) -> None:
    """evidence.json, checkpoint.txt, verify.py and LEESMIJ.txt into `out` (mode 0600)."""
    document = evidence.json(file, log)
    write_private(out / EVIDENCE_FILE, (json.dumps(document, indent=2) + "\n").encode())
    write_private(out / CHECKPOINT_FILE, evidence.served.checkpoint)
    write_private(out / SCRIPT_FILE, SCRIPT_SOURCE.read_bytes())
    stamp = evidence.stamp
    if stamp is not None:
        write_private(out / TIMESTAMP_FILE, stamp.response)
        write_private(out / TSA_ROOT_FILE, stamp.root_pem)
    when = evidence.proven.existed_by
    names = ", ".join(w.name for w in log.witnesses.witnesses) or "-"
    text = EXPLANATION.format(
        name=Path(file).name,
        dutch=dutch_time(when) if when is not None else "(geen getuigen: geen tijd)",
        english=english_time(when) if when is not None else "(no witnesses: no time)",
        witnesses=log.witnesses.threshold,
        names=names,
        tsa_nl=""
        if stamp is None
        else TSA_NL.format(time=stamp.time.isoformat(), command=evidence.openssl_command()),
        tsa_en=""
        if stamp is None
        else TSA_EN.format(time=stamp.time.isoformat(), command=evidence.openssl_command()),
    )
    write_private(out / EXPLANATION_FILE, text.encode())


class EvidenceMixin(DocumentsMixin):
    def version_evidence(
        self, record: VersionRecord, opened: OpenedHeader, file_hash: bytes, log: TrustedLog
    ) -> Evidence:
        """Fetch a version's proof and check it (vault.evidence.verify_evidence, with the
        witness quorum): SecurityError if the server's answer does not hold."""
        answer = self.api.version_evidence(record.document_id, record.version)
        served = ServedEvidence.from_json(answer)
        header = opened.header
        salt = evidence_salt(opened.file_key, header.dossier_id, header.document_id, header.version)
        proven = verify_evidence(
            file_hash=file_hash,
            salt=salt,
            entry=served.entry,
            index=served.index,
            inclusion=served.inclusion,
            checkpoint=served.checkpoint,
            log=log,
        )
        if proven.checkpoint.checkpoint.size != served.size:
            raise ClientError("server answer: the proof names another tree size")
        return Evidence(record, file_hash, salt, served, proven, self._stamp(record, proven))

    def _stamp(self, record: VersionRecord, proven: Proven) -> Stamp | None:
        """This device's RFC 3161 token for the version, checked (None: no TSA, or no token
        here: it is kept only on the device that committed the version)."""
        tsa = configured_tsa()
        path = token_path(self.profile.dir, record.document_id, record.version)
        if tsa is None or not path.exists():
            return None
        response = path.read_bytes()
        time = check_timestamp(tsa, response, proven.entry.digest or b"")
        return Stamp(response, time, tsa.root_pem)

    def evidence_package(
        self, document_id: str, directory: Path | str, *, version: int | None = None
    ) -> tuple[Path, Evidence]:
        """Write the evidence package of a version (the latest confirmed one by default) into a
        new or empty folder that appears only when complete; return it and the evidence."""
        log = required_log()
        target = Path(os.path.abspath(directory))
        check_target(target, DOING)  # before the server is asked for anything
        with staged_folder(target, DOING, "evidence package", "written") as out:
            info, path = self.get(document_id, out, version=version)  # every check of `get`
            with path.open("rb") as source:
                file_hash = file_sha256(source)
            dossier_id, versions = self.document_versions(document_id)
            record = next(v for v in versions if v.version == info.version)
            opened = self.open_version(self.load_dossier(dossier_id), record)
            evidence = self.version_evidence(record, opened, file_hash, log)
            write_package(out, path.name, evidence, log)
        return target / path.name, evidence

    def export_evidence(
        self,
        out: Path,
        record: VersionRecord,
        opened: OpenedHeader,
        opened_file: str,
        log: TrustedLog,
    ) -> None:
        """The package of one exported version, into `out` (for the dossier export): the file
        itself is the export's age file, which `open.sh` opens as `opened_file`."""
        file_hash = self.plaintext_digest(record, opened, hashlib.sha256())
        out.mkdir(mode=PRIVATE_DIR)
        write_package(out, opened_file, self.version_evidence(record, opened, file_hash, log), log)
