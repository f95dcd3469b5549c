"""Uploads in parts against a real server process whose own cleanup runs every second with a
grace period of a few seconds: a part that takes longer than the grace period to arrive keeps
its upload alive (the route marks it active while the bytes come in), and an upload nobody
touches is removed with everything stored of it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import blake3
import httpx

from ..conftest import LiveServerFactory
from .harness import registration

GRACE = 4
MIB = 1 << 20
PART = 5 * MIB
HEADER = "Kluis-Part-BLAKE3"


def b3(data: bytes) -> str:
    return str(blake3.blake3(data).hexdigest())


def logged_in(http: httpx.Client) -> dict[str, str]:
    body = registration(f"user-{os.urandom(3).hex()}")
    http.post("/users", json=body).raise_for_status()
    login = {"username": body["username"], "auth_key": body["auth_key"]}
    return {"Authorization": f"Bearer {http.post('/auth/login', json=login).json()['token']}"}


def part_files(blob_dir: Path) -> list[Path]:
    parts = blob_dir / "parts"
    return [p for p in parts.rglob("*") if p.is_file()] if parts.exists() else []


def test_a_part_slower_than_the_grace_period_keeps_its_upload(
    live_server_factory: LiveServerFactory,
) -> None:
    server = live_server_factory(
        env={"KLUIS_UPLOAD_GRACE_SECONDS": str(GRACE), "KLUIS_CLEANUP_INTERVAL_SECONDS": "1"}
    )
    data = os.urandom(PART + 100)
    first, second = data[:PART], data[PART:]
    with httpx.Client(base_url=server.api_url, timeout=60) as http:
        auth = logged_in(http)
        created = http.post(
            "/uploads/parts", json={"size": len(data), "part_size": PART}, headers=auth
        )
        upload_id = created.json()["upload_id"]

        def slowly() -> Iterator[bytes]:  # 5 MiB over twice the grace period and more
            for i in range(0, PART, PART // 20):
                yield first[i : i + PART // 20]
                time.sleep(2 * GRACE / 20)

        path = f"/uploads/{upload_id}/parts"
        slow = http.put(
            f"{path}/1",
            content=slowly(),
            headers={**auth, HEADER: b3(first), "Content-Length": str(PART)},
        )
        assert slow.status_code == 200, slow.text
        assert (
            http.put(f"{path}/2", content=second, headers={**auth, HEADER: b3(second)}).status_code
            == 200
        )
        done = http.post(
            f"/uploads/{upload_id}/complete",
            json={"size": len(data), "blake3": b3(data)},
            headers=auth,
        )
        assert done.status_code == 200, done.text


def test_an_upload_nobody_touches_is_removed_with_its_parts(
    live_server_factory: LiveServerFactory,
) -> None:
    server = live_server_factory(
        env={"KLUIS_UPLOAD_GRACE_SECONDS": str(GRACE), "KLUIS_CLEANUP_INTERVAL_SECONDS": "1"}
    )
    content = os.urandom(PART)
    with httpx.Client(base_url=server.api_url, timeout=60) as http:
        auth = logged_in(http)
        created = http.post(
            "/uploads/parts", json={"size": 2 * PART, "part_size": PART}, headers=auth
        )
        upload_id = created.json()["upload_id"]
        put = http.put(
            f"/uploads/{upload_id}/parts/1", content=content, headers={**auth, HEADER: b3(content)}
        )
        assert put.status_code == 200
        assert part_files(server.blob_dir)
        deadline = time.monotonic() + 60
        while http.get(f"/uploads/{upload_id}", headers=auth).status_code == 200:
            assert time.monotonic() < deadline, "the abandoned upload was never removed"
            time.sleep(GRACE + 1)  # asking counts as activity: ask less often than that
        assert part_files(server.blob_dir) == []


def test_a_part_arriving_after_the_upload_completed_changes_nothing(
    live_server_factory: LiveServerFactory,
) -> None:
    """A request for part 2 whose client gave up on it (the connection looked dead) is still
    arriving at the server; the client sent part 2 again and completed. When the late bytes
    are in, that request is refused, and the completed upload is untouched."""
    server = live_server_factory()
    data = os.urandom(PART + 100)
    first, second = data[:PART], data[PART:]
    late = os.urandom(len(second))  # other bytes, to show that they are not taken
    go_on = threading.Event()
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=server.api_url, timeout=60) as http:
        auth = logged_in(http)
        created = http.post(
            "/uploads/parts", json={"size": len(data), "part_size": PART}, headers=auth
        )
        upload_id = created.json()["upload_id"]
        path = f"/uploads/{upload_id}/parts"

        def put(number: int, content: bytes) -> int:
            headers = {**auth, HEADER: b3(content)}
            return http.put(f"{path}/{number}", content=content, headers=headers).status_code

        def arrived() -> list[int]:
            state = http.get(f"/uploads/{upload_id}", headers=auth).json()
            return [part["number"] for part in state["parts"]]

        assert (put(1, first), put(2, second)) == (200, 200)

        def stalled() -> Iterator[bytes]:
            yield late[:50]
            go_on.wait(30)
            yield late[50:]

        def send_late() -> None:
            with httpx.Client(base_url=server.api_url, timeout=60) as other:
                headers = {**auth, HEADER: b3(late), "Content-Length": str(len(late))}
                answers.append(other.put(f"{path}/2", content=stalled(), headers=headers))

        sender = threading.Thread(target=send_late)
        sender.start()
        deadline = time.monotonic() + 30
        while arrived() != [1]:  # under way: part 2 counts as missing while it arrives
            assert time.monotonic() < deadline, "the late part never began"
            time.sleep(0.05)
        assert put(2, second) == 200  # the client sends it again
        body = {"size": len(data), "blake3": b3(data)}
        done = http.post(f"/uploads/{upload_id}/complete", json=body, headers=auth)
        assert done.status_code == 200, done.text
        go_on.set()
        sender.join()
        assert answers[0].status_code == 409, answers[0].text
        assert answers[0].json()["code"] == "upload_completing"
        state = http.get(f"/uploads/{upload_id}", headers=auth).json()
        assert (state["state"], state["blake3"]) == ("complete", b3(data))
    [blob] = list(server.blob_dir.glob("??/*"))  # the parts, as the blob
    assert b"".join((blob / name).read_bytes() for name in ("1", "2")) == data
    assert sorted(p.name for p in blob.iterdir()) == ["1", "2"]
