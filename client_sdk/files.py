"""Files this client writes for its user alone: mode 0600 from the start, synced to disk."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 (never through a more open umask), write `data`, sync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
