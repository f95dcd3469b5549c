"""The Kluis client: the only place where keys meet the network.

`Client` does all cryptography locally through `vault` (docs/format.md) and speaks the HTTP API
of docs/api.md. The `kluis` command line lives in `client_sdk.cli`.

The names below are loaded on first use (PEP 562): importing one module of the package, as each
`kluis` command does for what it needs, does not load the whole client with httpx and every
cryptographic module (start-up time, issue 21).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accesslog import LogEntry
    from .client import Client
    from .errors import (
        AmbiguousId,
        ApiError,
        ClientError,
        NotLoggedIn,
        ServerUnreachable,
        TamperedLogError,
        UnknownId,
        UnverifiedKeyError,
        WithheldDocumentError,
    )
    from .profile import Profile
    from .records import DocumentInfo, Dossier
    from .sharing import SharedItem, ShareResult, Synced

# Each public name and the module that defines it.
_HOMES = {
    "AmbiguousId": "errors",
    "ApiError": "errors",
    "Client": "client",
    "ClientError": "errors",
    "DocumentInfo": "records",
    "Dossier": "records",
    "LogEntry": "accesslog",
    "NotLoggedIn": "errors",
    "Profile": "profile",
    "ServerUnreachable": "errors",
    "ShareResult": "sharing",
    "SharedItem": "sharing",
    "Synced": "sharing",
    "TamperedLogError": "errors",
    "UnknownId": "errors",
    "UnverifiedKeyError": "errors",
    "WithheldDocumentError": "errors",
}

__all__ = [
    "AmbiguousId",
    "ApiError",
    "Client",
    "ClientError",
    "DocumentInfo",
    "Dossier",
    "LogEntry",
    "NotLoggedIn",
    "Profile",
    "ServerUnreachable",
    "ShareResult",
    "SharedItem",
    "Synced",
    "TamperedLogError",
    "UnknownId",
    "UnverifiedKeyError",
    "WithheldDocumentError",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
