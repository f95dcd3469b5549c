"""Structured logs: one JSON object per line on stderr, for the server's own messages,
uvicorn's, and one line per request (logger `kluis.access`, written by server.metrics).

What is logged is decided here and in server.metrics, never by the callers' data: a request
line holds the method, the route TEMPLATE (`/api/v1/dossiers/{dossier_id}`, never the path
or query string), the status, the duration and a request id. Bodies, headers (so bearer
tokens), auth keys and the bundles in bodies are never logged; the server never sees file names,
titles or passphrases at all. Exceptions are logged by type and stack frames, without their
message, since a message may quote the data that caused it.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

ACCESS_LOGGER = "kluis.access"
FIELDS = "kluis_fields"  # `extra={FIELDS: {...}}` adds these keys to the JSON object
INNERMOST_FRAMES = 3

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", ...fields}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            entry.update(describe_exception(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


def describe_exception(exc_info: ExcInfo) -> dict[str, Any]:
    """The exception's type and its causes' types, and where it passed: the frames of this
    project's code and the innermost frames (where it was raised)."""
    _, exc, tb = exc_info
    chain: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(_type_name(current))
        current = current.__cause__ or current.__context__
    frames = traceback.extract_tb(tb)
    shown = [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for index, frame in enumerate(frames)
        if index >= len(frames) - INNERMOST_FRAMES or "site-packages" not in frame.filename
    ]
    return {"exception": " <- ".join(chain), "frames": shown}


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def logging_config(level: str = "warning", access_log: bool = True) -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary (uvicorn's `log_config`): JSON on stderr for
    everything; `level` for diagnostics, request lines at info unless `access_log` is off."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            # uvicorn's access lines show raw paths and addresses: never on.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "kluis": {"handlers": ["stderr"], "level": upper, "propagate": False},
            ACCESS_LOGGER: {
                "handlers": ["stderr"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
        },
    }
