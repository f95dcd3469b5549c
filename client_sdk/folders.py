"""Writing a folder whole or not at all: an export or an evidence package is written into a
hidden folder beside its target and renamed into place only when everything is in it, so a
failure (a full disk, a file that does not verify) or an interruption leaves no target folder,
never half of one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import ClientError

PRIVATE_DIR = 0o700


def check_target(path: Path, doing: str = "export") -> None:
    """An export (or an evidence package) goes into a new or empty folder: it never writes
    over anything."""
    if path.exists() and not path.is_dir():
        raise ClientError(f"{path} is a file: {doing} into a new or empty folder")
    if path.is_dir() and any(path.iterdir()):
        raise ClientError(f"{path} is not empty: {doing} into a new or empty folder")


@contextlib.contextmanager
def staged_folder(
    target: Path, doing: str = "export", noun: str = "export", done: str = "exported"
) -> Iterator[Path]:
    """A hidden folder (mode 0700) beside `target` to write an export or a package into, renamed to
    `target` when the block ends without error; on any error or interruption it is removed,
    with the parent folders made for it, and a write error is a ClientError."""
    target = Path(os.path.abspath(target))
    check_target(target, doing)
    made: list[Path] = []
    staging: Path | None = None
    try:
        for parent in reversed(target.parents):
            if not parent.exists():
                parent.mkdir(mode=PRIVATE_DIR)
                made.append(parent)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name[:40]}.kluis-export-", dir=target.parent)
        )
        os.chmod(staging, PRIVATE_DIR)
        yield staging
        check_target(target, doing)  # (something may have appeared there meanwhile)
        os.rename(staging, target)  # atomic; replaces an empty folder on Linux and macOS
        staging = None
        with contextlib.suppress(OSError):  # the rename itself, on disk
            fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ClientError(
            f"cannot write the {noun} to {target}: {why}; nothing was {done}"
        ) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(made):
            with contextlib.suppress(OSError):
                parent.rmdir()  # only if nothing else was put there since
