"""The titles and file names a listing shows instead of ids (the server never sees them:
this device decrypts them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault.errors import ExpiredError, SecurityError

from ..errors import ClientError

if TYPE_CHECKING:
    from ..client import Client


def document_labels(c: Client, dossier_id: str) -> dict[str, tuple[str, str]]:
    """{document id: (file name, how a table shows it)} of a dossier's documents: by its name,
    and where two documents share one, with the start of its id too."""
    names = c.document_names([dossier_id])
    count: dict[str, int] = {}
    for name, _ in names.values():
        count[name] = count.get(name, 0) + 1
    return {
        d: (name, name if count[name] == 1 else f"{name} ({d[:8]})")
        for d, (name, _) in names.items()
    }


def readable_names(c: Client, pairs: list[tuple[str, str | None]]) -> dict[str, str]:
    """{id: title or file name} of the dossiers and documents in `pairs` (dossier id, document
    id or None) whose names this device can decrypt, each verified; others are left out, and
    show by id. So is a dossier that fails a check: the listing of grants says what verifies
    (and `ls` or `get` of that dossier fails closed); a name is only shown here."""
    wanted: dict[str, set[str]] = {}
    for dossier_id, document_id in pairs:
        wanted.setdefault(dossier_id, set()).update([document_id] if document_id else [])
    names: dict[str, str] = {}
    for dossier_id, documents in wanted.items():
        try:
            dossier = c.load_dossier(dossier_id)
            listed = c.document_names([dossier_id]) if documents else {}
        except (ClientError, ExpiredError, SecurityError):
            continue  # no longer mine to read (revoked, expired), or it fails a check: by id
        if dossier.metadata is not None:
            names[dossier_id] = dossier.metadata.title
        names.update({d: name for d, (name, _) in listed.items()})
    return names
