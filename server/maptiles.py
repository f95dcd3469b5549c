"""Map tiles through the Kluis origin (docs/deployment.md "The map's tile server").

The directory's map shows tiles of a tile server the operator chooses (`KLUIS_TILE_URL`, a
template with {z}, {x} and {y}); residents' browsers fetch them from Kluis itself, never from a
third party (the web app's rule: its CSP allows only its own origin). Kluis asks the upstream
with nothing of the resident's request (no cookie, no address, no referrer, no user agent of
theirs), accepts only a PNG or JPEG image of bounded size, and keeps the newest tiles in a
bounded in-memory cache per process, so a village looking at its own streets costs the
upstream one fetch per tile.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import httpx

MAX_ZOOM = 19
MAX_TILE_BYTES = 512 * 1024
IMAGE_TYPES = ("image/png", "image/jpeg")
USER_AGENT = "Kluis tile proxy"


class TileUnavailable(Exception):
    """The upstream did not give a usable tile (down, an error, not an image, too large)."""


@dataclass(frozen=True)
class Tile:
    content: bytes
    media_type: str


def in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)


class TileProxy:
    def __init__(self, template: str, *, max_tiles: int, timeout: float) -> None:
        self.template = template
        self.max_tiles = max_tiles
        self._cache: OrderedDict[tuple[int, int, int], Tile] = OrderedDict()
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self._http.close()

    def tile(self, z: int, x: int, y: int) -> Tile:
        """Tile (z, x, y), from the cache or the upstream (raises TileUnavailable)."""
        key = (z, x, y)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        tile = self._fetch(z, x, y)
        with self._lock:
            self._cache[key] = tile
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_tiles:
                self._cache.popitem(last=False)
        return tile

    @property
    def cached(self) -> int:
        with self._lock:
            return len(self._cache)

    def _fetch(self, z: int, x: int, y: int) -> Tile:
        url = self.template.format(z=z, x=x, y=y)
        try:
            with self._http.stream("GET", url) as response:
                media_type = response.headers.get("content-type", "").split(";")[0].strip()
                if response.status_code != httpx.codes.OK or media_type not in IMAGE_TYPES:
                    raise TileUnavailable(f"upstream answered {response.status_code} {media_type}")
                content = b""
                for chunk in response.iter_bytes():
                    content += chunk
                    if len(content) > MAX_TILE_BYTES:
                        raise TileUnavailable("upstream tile too large")
        except httpx.HTTPError as exc:
            raise TileUnavailable(f"upstream unreachable ({type(exc).__name__})") from None
        return Tile(content, media_type)
