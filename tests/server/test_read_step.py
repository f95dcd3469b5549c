"""`server.db.read_step` on PostgreSQL: the caller and access checks read in autocommit (at
READ COMMITTED every statement has its own snapshot anyway, so BEGIN and COMMIT would only add
round trips). On SQLite the step is the usual read transaction, so this module runs on
PostgreSQL only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from .harness import Account, Kluis

DATABASES = ("postgresql",)


def test_a_connection_goes_back_to_the_pool_in_a_transaction_again(
    kluis: Kluis, alice: Account
) -> None:
    """The caller and access checks read in autocommit on PostgreSQL; the connection they used
    must be transactional again for the next request, or a write route would not be atomic."""
    dossier_id = kluis.create_dossier(alice)
    returned: list[bool] = []

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        returned.append(dbapi_connection.autocommit)

    engine = kluis.client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "checkin", checked_in)
    try:
        assert kluis.get(f"/dossiers/{dossier_id}", alice).status_code == 200
    finally:
        event.remove(engine, "checkin", checked_in)
    assert returned == [False]
