"""The map's tiles through the Kluis origin (server/maptiles.py), from a real tile server on
loopback: a tile is fetched once and then served from the bounded cache; the upstream sees
nothing of the resident's request; what is not a tile (an error, HTML, something too large, a
server that is down) is 502; coordinates off the map are 404/422; and a Kluis without
KLUIS_TILE_URL has no map (the directory page then shows the list alone)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from server.config import Settings
from server.maptiles import MAX_TILE_BYTES

from .harness import FakeClock, make_client
from .smtp_sink import free_port

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4bd0000000049454e44ae426082"
)


class TileServer:
    """Answers /{z}/{x}/{y}.png with a PNG; /5/... with HTML, /6/... with 500, /7/... too large."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                z = self.path.split("/")[1]
                status, kind, body = 200, "image/png", PNG
                if z == "5":
                    kind, body = "text/html", b"<html>reclame</html>"
                elif z == "6":
                    status = 500
                elif z == "7":
                    body = PNG + bytes(MAX_TILE_BYTES)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Set-Cookie", "tracker=1")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[TileServer]:
    server = TileServer()
    yield server
    server.stop()


def client_with(data_dir: Path, clock: FakeClock, **settings: Any) -> Any:
    return make_client(Settings(data_dir=data_dir, **settings), clock)


def test_a_tile_comes_through_kluis_once_then_from_the_cache(
    data_dir: Path, clock: FakeClock, upstream: TileServer
) -> None:
    with client_with(data_dir, clock, tile_url=upstream.url, tile_cache_tiles=2) as client:
        assert client.get("/map/config").json() == {"tiles": True}
        headers = {"Cookie": "session=geheim", "Authorization": "Bearer geheim", "Referer": "x"}
        for _ in range(3):
            answer = client.get("/map/tiles/3/4/2.png", headers=headers)
            assert answer.status_code == 200 and answer.content == PNG
            assert answer.headers["content-type"] == "image/png"
            assert "set-cookie" not in answer.headers
        assert [path for path, _ in upstream.requests] == ["/3/4/2.png"]
        _, sent = upstream.requests[0]
        assert not {"cookie", "authorization", "referer"} & set(sent)
        assert sent["user-agent"] == "Kluis tile proxy"
        for x in (0, 1, 2):  # the cache holds two tiles: 4/2 is pushed out, then fetched again
            assert client.get(f"/map/tiles/3/{x}/0.png").status_code == 200
        assert client.get("/map/tiles/3/4/2.png").status_code == 200
        assert len(upstream.requests) == 5


@pytest.mark.parametrize("z", [5, 6, 7])
def test_what_is_not_a_tile_is_502_and_not_cached(
    data_dir: Path, clock: FakeClock, upstream: TileServer, z: int
) -> None:
    with client_with(data_dir, clock, tile_url=upstream.url) as client:
        for _ in range(2):
            answer = client.get(f"/map/tiles/{z}/1/1.png")
            assert answer.status_code == 502 and answer.json()["code"] == "tile_unavailable"
        assert len(upstream.requests) == 2


def test_a_tile_server_that_is_down_is_502(data_dir: Path, clock: FakeClock) -> None:
    down = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"
    with client_with(data_dir, clock, tile_url=down) as client:
        assert client.get("/map/tiles/1/0/0.png").status_code == 502


@pytest.mark.parametrize(
    ("path", "status"),
    [("/map/tiles/2/4/0.png", 404), ("/map/tiles/2/0/4.png", 404), ("/map/tiles/20/0/0.png", 422),
     ("/map/tiles/-1/0/0.png", 422), ("/map/tiles/1/0/0.jpg", 404)],
)  # fmt: skip
def test_a_tile_off_the_map_is_refused_without_asking_upstream(
    data_dir: Path, clock: FakeClock, upstream: TileServer, path: str, status: int
) -> None:
    with client_with(data_dir, clock, tile_url=upstream.url) as client:
        assert client.get(path).status_code == status
    assert upstream.requests == []


def test_without_a_tile_server_there_is_no_map(data_dir: Path, clock: FakeClock) -> None:
    with client_with(data_dir, clock) as client:
        assert client.get("/map/config").json() == {"tiles": False}
        assert client.get("/map/tiles/1/0/0.png").status_code == 404


@pytest.mark.parametrize(
    "url",
    ["tiles.example/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}.png",
     "file:///tiles/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}/{y}/{s}.png"],
)  # fmt: skip
def test_a_tile_url_that_cannot_work_stops_the_server(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, tile_url=url)
