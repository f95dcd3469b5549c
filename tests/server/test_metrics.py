"""Prometheus metrics at `/metrics`: requests and latency by method, route TEMPLATE and status
class (never a raw path: paths hold ids), errors by exact status, exceptions, payload bytes."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.config import Settings
from server.metrics import RouteTemplates

from .harness import Account, FakeClock, Kluis, TestClient
from .test_app import BrokenStore

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
DOSSIER = "/api/v1/dossiers/{dossier_id}"
PAYLOAD = "/api/v1/documents/{document_id}/versions/{version}/payload"


def scrape(client: TestClient) -> tuple[str, Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id, b"x" * 1000)
    for _ in range(3):
        assert kluis.get(f"/dossiers/{dossier_id}", alice).status_code == 200
    assert kluis.get(f"/dossiers/{'0' * 32}", alice).status_code == 404
    text, samples = scrape(kluis.client)

    assert (
        value(samples, "kluis_http_requests_total", method="GET", route=DOSSIER, status="2xx") == 3
    )
    assert (
        value(samples, "kluis_http_requests_total", method="GET", route=DOSSIER, status="4xx") == 1
    )
    assert value(samples, "kluis_http_errors_total", method="GET", route=DOSSIER, status="404") == 1
    count = value(
        samples,
        "kluis_http_request_duration_seconds_count",
        method="GET",
        route=DOSSIER,
        status="2xx",
    )
    assert count == 3
    # No id of anything, and no token, ever becomes a label.
    for secret in (dossier_id, document_id, alice.user_id, alice.token):
        assert secret not in text


def test_unknown_paths_and_methods_do_not_grow_the_labels(kluis: Kluis) -> None:
    for path in ("/nope", "/api/v1/whatever/123", "/api/v1/dossiers/a/b/c/d"):
        assert kluis.client.get(path).status_code == 404
    assert kluis.client.request("BREW", "/api/v1/me").status_code == 405
    text, samples = scrape(kluis.client)
    assert (
        value(samples, "kluis_http_requests_total", method="GET", route="unmatched", status="4xx")
        == 3
    )
    assert (
        value(
            samples, "kluis_http_requests_total", method="OTHER", route="/api/v1/me", status="4xx"
        )
        == 1
    )
    assert "whatever" not in text
    assert "BREW" not in text


def test_the_most_specific_template_wins() -> None:
    routes = RouteTemplates(lambda: ["/users/{username}", "/users/by-id/{user_id}", "/users"])
    assert routes("/users/by-id/abc") == "/users/by-id/{user_id}"
    assert routes("/users/anna") == "/users/{username}"
    assert routes("/users/by-id") == "/users/{username}"  # a user called by-id
    assert routes("/users") == "/users"
    assert routes("/users/anna/extra") == "unmatched"


def test_payload_bytes_are_counted(kluis: Kluis, alice: Account) -> None:
    dossier_id = kluis.create_dossier(alice)
    payload = os.urandom(150_000)
    document_id = kluis.add_document(alice, dossier_id, payload)
    for _ in range(2):
        response = kluis.get(f"/documents/{document_id}/versions/1/payload", alice)
        assert response.content == payload
    _, samples = scrape(kluis.client)
    assert value(samples, "kluis_payload_uploaded_bytes_total") == len(payload)
    assert value(samples, "kluis_payload_downloaded_bytes_total") == 2 * len(payload)
    assert (
        value(samples, "kluis_http_requests_total", method="GET", route=PAYLOAD, status="2xx") == 2
    )


def test_exceptions_and_server_errors_are_counted(settings: Settings, clock: FakeClock) -> None:
    app = create_app(settings, clock=clock, blobstore=BrokenStore())
    with TestClient(app, raise_server_exceptions=False) as client:
        kluis = Kluis(client, clock)
        alice = kluis.register("alice")
        assert kluis.post("/uploads", alice, content=b"data").status_code == 500
        _, samples = scrape(client)
    route = "/api/v1/uploads"
    assert (
        value(samples, "kluis_http_requests_total", method="POST", route=route, status="5xx") == 1
    )
    assert value(samples, "kluis_http_errors_total", method="POST", route=route, status="500") == 1
    assert value(samples, "kluis_http_exceptions_total", route=route, exception="OSError") == 1


def test_every_app_has_its_own_registry(data_dir: Path, clock: FakeClock) -> None:
    def requests_seen(client: TestClient) -> float:
        _, samples = scrape(client)
        return value(
            samples, "kluis_http_requests_total", method="GET", route="/healthz", status="2xx"
        )

    with (
        TestClient(create_app(Settings(data_dir=data_dir / "a"), clock=clock)) as one,
        TestClient(create_app(Settings(data_dir=data_dir / "b"), clock=clock)) as two,
    ):
        for _ in range(3):
            one.get("/healthz")
        assert requests_seen(one) == 3
        assert requests_seen(two) == 0


def test_process_metrics_and_version_are_there(kluis: Kluis) -> None:
    text, samples = scrape(kluis.client)
    assert value(samples, "kluis_info", version="1.0.0") == 1
    assert "process_resident_memory_bytes" in text
    assert value(samples, "kluis_http_requests_in_flight") == 1  # the scrape itself


def test_request_ids(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first != second and len(first) == 16
    given = "0f8fad5b-d9cb-469f-a165-70867728950e"  # from a proxy in front
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["x-request-id"] == given
    token_like = "Zm9vYmFyYmF6cXV4X3Rva2VuX3ZhbHVlX2hlcmVfMTIzNDU"
    echoed = client.get("/healthz", headers={"X-Request-ID": token_like}).headers["x-request-id"]
    assert echoed != token_like
