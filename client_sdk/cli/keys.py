"""`kluis keys ...` and `kluis checkpoint`: the key transparency log on the command line
(docs/user-guide.md, "Key history and checkpoints"): a name's key history, the audit of the
own account's entries, and checkpoints printed or compared with one obtained elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .output import out, print_json
from .shared import (
    DEFAULT_SERVER,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    client,
    command,
    fail,
    log_settings,
)

LogKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--log-key",
        metavar="KEY",
        help="The log's key as its operator published it (<origin>+<key ID>+<base64>); "
        "default KLUIS_LOG_KEY, else the key this device pinned.",
    ),
]
WitnessOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        metavar="KEY",
        help="A witness's key (<name>+<key ID>+<base64>); repeat for more. Kept on this device.",
    ),
]
QuorumOpt = Annotated[
    int | None,
    typer.Option("--quorum", metavar="K", help="How many of the witnesses must have cosigned."),
]


@command
def keys_history(
    name: Annotated[str, typer.Argument(help="A username, or @name for an organisation.")],
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    log_key: LogKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every key a person or organisation ever had in the key transparency log."""
    with client(server, profile, log_settings(log_key)) as c:
        history = c.monitor.history(name)
    if as_json:
        print_json([vars(h) for h in history])
        return
    for h in history:
        version = "" if h.kind == "operator statement" else f" {h.version}"
        now = "  (shown now)" if h.current else ""
        out.print(f"entry {h.index}: {h.kind}{version}{now}", markup=False)
    if not history:
        out.print(f"the log holds no entry for {name}", markup=False)


@command
def keys_audit(
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    log_key: LogKeyOpt = None,
    witness: WitnessOpt = None,
    quorum: QuorumOpt = None,
) -> None:
    """Check every log entry added since the last audit: only keys you (and your
    organisations' admins) made may be under your names."""
    with client(server, profile, log_settings(log_key, witness, quorum)) as c:
        audit = c.monitor.audit()
    out.print(
        f"checked log entries {audit.start} to {audit.end} (checkpoint of "
        f"{audit.checkpoint.checkpoint.size} entries): nothing under your names that you did "
        f"not make ({len(audit.found)} of your own)",
        markup=False,
    )


@command
def checkpoint(
    check: Annotated[
        Path | None,
        typer.Option("--check", metavar="FILE", help="Compare with a checkpoint from elsewhere."),
    ] = None,
    server: ServerOpt = DEFAULT_SERVER,
    profile: ProfileOpt = None,
    log_key: LogKeyOpt = None,
    witness: WitnessOpt = None,
    quorum: QuorumOpt = None,
) -> None:
    """Print the log's newest checkpoint, checked; or compare one from elsewhere with it."""
    data = None
    if check is not None:
        try:
            data = check.read_bytes()
        except OSError as exc:
            fail(f"error: cannot read {check}: {exc.strerror}")
    with client(server, profile, log_settings(log_key, witness, quorum)) as c:
        if data is None:
            newest = c.monitor.checkpoint()
            out.print(newest.note.decode("utf-8"), markup=False, end="")
            return
        theirs, mine = c.monitor.compare(data)
    out.print(
        f"consistent: the checkpoint of {theirs.checkpoint.size} entries is part of the log "
        f"this device sees ({mine.checkpoint.size} entries)",
        markup=False,
    )
