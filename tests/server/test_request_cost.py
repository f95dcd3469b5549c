"""What a request costs a replica, in the two things that dominate it: worker-thread calls and
database connection checkouts (each with a liveness ping on PostgreSQL, and a transaction).

A dossier, its grants and its documents (what a client reads for every dossier it opens) take
one of each: the caller, their access and the listing are read together; other routes take one
for the caller and one of their own. The answer is validated without another. Issue 5: one call
and one transaction per dependency, and one more call per answer, had made these requests cost
about twice the CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import event

from .harness import Account, Kluis, grant_in


@dataclass
class Cost:
    thread_calls: int = 0
    checkouts: int = 0


@pytest.fixture
def cost_of(kluis: Kluis, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Cost]]:
    """`cost_of(path, who)`: what a GET of `path` by `who` cost the server."""
    cost = Cost()
    run_sync = anyio.to_thread.run_sync

    async def counted_run_sync(*args: Any, **kwargs: Any) -> Any:
        cost.thread_calls += 1
        return await run_sync(*args, **kwargs)

    def checked_out(*_: Any) -> None:
        cost.checkouts += 1

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted_run_sync)
    engine = kluis.client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "checkout", checked_out)

    def get(path: str, who: Account) -> Cost:
        cost.thread_calls = cost.checkouts = 0
        response = kluis.get(path, who)
        assert response.status_code == 200, response.text
        return Cost(cost.thread_calls, cost.checkouts)

    yield get
    event.remove(engine, "checkout", checked_out)


def test_what_a_client_reads_most_costs_one_call_or_two(
    kluis: Kluis, alice: Account, bob: Account, cost_of: Callable[..., Cost]
) -> None:
    dossier_id = kluis.create_dossier(alice)
    document_id = kluis.add_document(alice, dossier_id)
    kluis.share(alice, dossier_id, grant_in(bob.user_id))
    for who in (alice, bob):  # the owner, and a reader (grants checked in the same call)
        assert cost_of(f"/dossiers/{dossier_id}", who) == Cost(1, 1)
        assert cost_of(f"/dossiers/{dossier_id}/grants", who) == Cost(1, 1)
        assert cost_of(f"/dossiers/{dossier_id}/documents", who) == Cost(1, 1)
        assert cost_of(f"/documents/{document_id}", who) == Cost(2, 2)
    assert cost_of("/me", alice) == Cost(1, 1)
