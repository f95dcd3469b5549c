"""Run the Kluis server, its migrations or its cleanup job.

    python -m server [serve] [--host 127.0.0.1] [--port 8000] [--data-dir ./data]
                             [--log-level warning]
    python -m server migrate [--data-dir ./data]   # bring the database schema up to date
    python -m server cleanup [--data-dir ./data]   # remove stale uploads and orphan blobs
    python -m server revision -m "what changed"    # developers: a new migration file
    python -m server admin verify-org NAME --fingerprint FP   # server/admin.py

Other settings come from `KLUIS_*` environment variables (server/config.py). `--port 0` picks a
free port; the "listening" line printed when the server is ready names the real one. Logs are
JSON lines on stderr, one per request (server/logging_setup.py); bodies and headers are never
logged.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from sqlalchemy import make_url

from .app import create_app, system_clock
from .config import ConfigurationError, Settings
from .db import make_engine
from .logging_setup import logging_config
from .schema import new_revision, prepare, upgrade
from .tlog_service import TransparencyLog

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class _Server(uvicorn.Server):
    """uvicorn's server, announcing the real address once it listens."""

    def __init__(self, config: uvicorn.Config, data_dir: Path, log_key: str) -> None:
        super().__init__(config)
        self.data_dir = data_dir
        self.log_key = log_key

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        # what an operator publishes, and what a client pins (--log-key, KLUIS_LOG_KEY)
        print(f"Kluis log key {self.log_key}", flush=True)
        print(
            f"Kluis server listening on http://{shown}:{port} (data: {self.data_dir})",
            flush=True,
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # End the live-event streams first: uvicorn waits for open answers to end.
        app = self.config.app
        hub = getattr(getattr(app, "state", None), "hub", None)
        if hub is not None:
            hub.close()
        await super().shutdown(sockets)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="The Kluis server.")
    parser.add_argument(
        "command", nargs="?", choices=("serve", "cleanup", "migrate", "revision"), default="serve"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: ./data")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="warning")
    parser.add_argument("-m", "--message", default="schema change", help="for `revision`")
    return parser


def _settings(data_dir: Path | None) -> Settings:
    return Settings() if data_dir is None else Settings(data_dir=data_dir)


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args.data_dir)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=logging_config(args.log_level, settings.access_log),
        access_log=False,
        server_header=False,
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        workers=1,
        reload=False,
    )
    server = _Server(config, settings.data_dir, app.state.log.keys.verifier_key)
    server.run()
    return 0 if server.started else 1


def cleanup(args: argparse.Namespace) -> int:
    from .app import make_blobstore
    from .cleanup import run_cleanup

    settings = _settings(args.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        prepare(engine)
        report = run_cleanup(engine, make_blobstore(settings), settings, system_clock())
    finally:
        engine.dispose()
    print(
        f"removed {report.uploads} stale uploads, {report.part_uploads} stale uploads in "
        f"parts, {report.partials} partial files, "
        f"{report.orphans} orphan blobs, {report.sessions} expired sessions, "
        f"{report.counters} login counters and device tokens"
    )
    return 0


def migrate(args: argparse.Namespace) -> int:
    settings = _settings(args.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        before, after = upgrade(engine)
        # the records that existed before the log are appended now (migration 0005)
        TransparencyLog.of(settings, engine).open(system_clock())
    finally:
        engine.dispose()
    url = make_url(settings.db_url).render_as_string(hide_password=True)
    if before == after:
        print(f"the database {url} is at the latest revision, {after}")
    else:
        print(f"migrated the database {url} from {before or 'an empty schema'} to {after}")
    return 0


def revision(args: argparse.Namespace) -> int:
    """For developers: a new migration file with what changed in server/models.py."""
    path = new_revision(args.message)
    print(f"wrote {path}; read it, adjust it, and test it (docs/deployment.md)")
    return 0


COMMANDS = {"serve": serve, "cleanup": cleanup, "migrate": migrate, "revision": revision}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["admin"]:  # operator commands on the directory (server/admin.py)
        from .admin import main as admin_main

        return admin_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigurationError as exc:
        print(f"kluis server: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a KLUIS_* variable of the wrong form; never echo values
        for error in exc.errors():
            name = "KLUIS_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"kluis server: {name}: {error['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
