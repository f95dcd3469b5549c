"""The HTTP layer: JSON calls, streamed payloads and RFC 9457 problems turned into errors.

`Api` is the only object that talks to the network. It knows nothing about keys; `Client`
gives it opaque bytes. The httpx transport can be swapped (`transport=`), which is how tests
put a response-rewriting "malicious server" between the client and a real server.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from vault.errors import MalformedError

from .errors import API_ERRORS_BY_STATUS, ApiError, ClientError, ServerUnreachable

API_PREFIX = "/api/v1"
STREAM_CHUNK = 1 << 20
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# Completing an upload in parts answers once the server has read the whole payload to check
# it: seconds for a GiB on local disk, longer from an object store.
COMPLETE_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
PART_HASH_HEADER = "Kluis-Part-BLAKE3"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(value: object, what: str) -> bytes:
    """Decode a base64 field from the server strictly; anything else is a malformed answer."""
    if not isinstance(value, str):
        raise MalformedError(f"server answer: {what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError(f"server answer: {what} is not valid base64") from exc


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    response.read()
    code, detail = "error", response.reason_phrase
    try:
        body = response.json()
        if isinstance(body, dict):
            code = str(body.get("code", code))
            detail = str(body.get("detail") or body.get("title") or detail)
    except ValueError:
        pass
    error = API_ERRORS_BY_STATUS.get(response.status_code, ApiError)
    raise error(response.status_code, code, f"server: {detail}")


def check_server_address(address: str) -> str:
    """`address` if it is an http:// or https:// URL; a user error that suggests one if not."""
    scheme, sep, rest = address.partition("://")
    if sep and scheme.lower() in ("http", "https") and rest:
        return address
    suggestion = f"http://{rest if sep else address}".rstrip("/")
    raise ClientError(
        f"the server address {address!r} does not start with http:// or https://: "
        f"did you mean {suggestion}?"
    )


class Api:
    """A thin, typed wrapper over httpx for the endpoints in docs/api.md."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = check_server_address(base_url).rstrip("/")
        self.token = token
        if transport is None and self.base_url.lower().startswith("http://"):
            # Plain http never uses TLS: an empty context (verification on, no CA trusted)
            # spares every command the CA bundle's load (start-up time, issue 21) and would
            # refuse any https it were ever asked to speak.
            transport = httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        self._http = httpx.Client(
            base_url=self.base_url + API_PREFIX, timeout=TIMEOUT, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @contextmanager
    def _network(self) -> Iterator[None]:
        try:
            yield
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"cannot reach the Kluis server at {self.base_url} ({type(exc).__name__})"
            ) from exc

    def call(self, method: str, path: str, json: Any = None, params: Any = None) -> Any:
        with self._network():
            response = self._http.request(
                method, path, json=json, params=params, headers=self._headers()
            )
        _raise_for_problem(response)
        if response.status_code == httpx.codes.NO_CONTENT or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedError(f"server answer to {method} {path} is not JSON") from exc

    def get_root(self, path: str) -> bytes:
        """GET a path outside the API prefix (the log's checkpoint, tiles and parameters)."""
        with self._network():
            response = self._http.get(self.base_url + path, headers=self._headers())
        _raise_for_problem(response)
        return response.content

    def upload(self, chunks: Iterable[bytes]) -> dict[str, Any]:
        """Stream a payload to POST /uploads; return the server's {upload_id, size, blake3}."""
        headers = {**self._headers(), "Content-Type": "application/octet-stream"}
        with self._network():
            response = self._http.post("/uploads", content=chunks, headers=headers)
        _raise_for_problem(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise MalformedError("server answer to the upload is not JSON") from exc
        if not isinstance(answer, dict):
            raise MalformedError("server answer to the upload is not an object")
        return answer

    # -- uploads in parts (docs/api.md) ----------------------------------------------------------
    def create_part_upload(self, size: int, part_size: int) -> dict[str, Any]:
        return self._object(
            self.call("POST", "/uploads/parts", json={"size": size, "part_size": part_size}),
            "the creation of an upload in parts",
        )

    def put_part(
        self, upload_id: str, number: int, data: memoryview, blake3_hex: str
    ) -> dict[str, Any]:
        """Send part `number`: `data`, whose BLAKE3 is `blake3_hex`, streamed from the buffer
        in 1 MiB pieces (with its length declared, so not chunked)."""

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(data), STREAM_CHUNK):
                yield bytes(data[start : start + STREAM_CHUNK])

        headers = {
            **self._headers(),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data)),
            PART_HASH_HEADER: blake3_hex,
        }
        path = f"/uploads/{upload_id}/parts/{number}"
        with self._network():
            response = self._http.put(path, content=pieces(), headers=headers)
        _raise_for_problem(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise MalformedError("server answer to a part is not JSON") from exc
        return self._object(answer, "a part")

    def part_upload(self, upload_id: str) -> dict[str, Any]:
        return self._object(self.call("GET", f"/uploads/{upload_id}"), "an upload's state")

    def complete_part_upload(self, upload_id: str, size: int, blake3_hex: str) -> dict[str, Any]:
        path = f"/uploads/{upload_id}/complete"
        with self._network():
            response = self._http.post(
                path,
                json={"size": size, "blake3": blake3_hex},
                headers=self._headers(),
                timeout=COMPLETE_TIMEOUT,
            )
        _raise_for_problem(response)
        try:
            answer = response.json()
        except ValueError as exc:
            raise MalformedError("server answer to a completion is not JSON") from exc
        return self._object(answer, "a completion")

    def abort_upload(self, upload_id: str) -> None:
        self.call("DELETE", f"/uploads/{upload_id}")

    @staticmethod
    def _object(answer: Any, what: str) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise MalformedError(f"server answer to {what} is not an object")
        return answer

    def events(self, path: str, params: Any) -> Iterator[str]:
        """A Server-Sent Events stream: the name of each event as it comes."""
        timeout = httpx.Timeout(TIMEOUT.connect, read=None)  # a quiet stream sends keep-alives
        with (
            self._network(),
            self._http.stream(
                "GET", path, params=params, headers=self._headers(), timeout=timeout
            ) as response,
        ):
            _raise_for_problem(response)
            for line in response.iter_lines():
                if line.startswith("event:"):
                    yield line.removeprefix("event:").strip()

    @contextmanager
    def download(self, path: str) -> Iterator[Callable[[], Iterator[bytes]]]:
        """Open a payload stream; yields a function that iterates the raw bytes."""
        with self._network(), self._http.stream("GET", path, headers=self._headers()) as resp:
            _raise_for_problem(resp)

            def chunks() -> Iterator[bytes]:
                with self._network():
                    yield from resp.iter_bytes(STREAM_CHUNK)

            yield chunks
