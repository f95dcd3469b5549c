"""The time this client stamps on what it signs and compares expiries with."""

from __future__ import annotations

import time


def now() -> int:
    """Seconds since 1970, UTC."""
    return int(time.time())
