"""Schemathesis against the server's own OpenAPI schema: no input makes it fail with a 5xx,
and every answer matches what the schema promises. Bounded and derandomized for CI."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from server.app import create_app
from server.config import Settings

from .harness import TestClient, registration

DATA_DIR = Path(tempfile.mkdtemp(prefix="kluis-fuzz-"))
APP = create_app(Settings(data_dir=DATA_DIR))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
FUZZ = settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


def bearer() -> dict[str, str]:
    """Register and log in one user, so authenticated operations get past the token check."""
    body = registration("fuzzer")
    with TestClient(APP) as http:
        assert http.post("/api/v1/users", json=body).status_code == 201
        answer = http.post(
            "/api/v1/auth/login", json={"username": "fuzzer", "auth_key": body["auth_key"]}
        )
    return {"Authorization": f"Bearer {answer.json()['token']}"}


HEADERS = bearer()


# A well-formed request for a user or dossier that does not exist is *meant* to be refused.
EXCLUDED = [checks.positive_data_acceptance]


@schema.parametrize()
@FUZZ
def test_no_anonymous_input_breaks_the_server_or_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=EXCLUDED)


@schema.parametrize()
@FUZZ
def test_no_logged_in_input_breaks_the_server_or_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=HEADERS, excluded_checks=EXCLUDED)
