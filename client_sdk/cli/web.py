"""`kluis web verify URL`: is the web app a server sends the one this package ships?"""

from __future__ import annotations

from .output import plain
from .shared import command


@command
def web_verify(url: str) -> None:
    """Compare the web app a server sends with the one in this Kluis package (exit 3 when not)."""
    from client_sdk.webverify import web_verify_command

    web_verify_command(url, echo=plain)
