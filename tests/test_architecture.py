"""The shape of the tree, checked on its import graph (grimp, which import-linter builds on):

- every module of `vault` is classified for the server, in pyproject.toml's import contracts:
  either in its public part (what the server may import: encoding, hashing, public keys and
  fingerprints, signature checks, and the transparency log's signing with the server's own
  keys) or in its secret-key part (what unwraps, opens or decrypts), so a new module cannot
  slip past the server's contract unclassified;
- no module of vault, server or client_sdk is in an import cycle.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vault", "server", "client_sdk")
SERVER_CONTRACT = "the server imports from vault only its public part"
PUBLIC_CONTRACT = "vault's public part never imports its secret-key part"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _contract(name: str) -> Mapping[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    found = [c for c in contracts if c["name"].startswith(name)]
    assert len(found) == 1, f"pyproject.toml has no single import contract named {name!r}..."
    return found[0]


def test_every_vault_module_is_either_public_or_secret_for_the_server(
    graph: grimp.ImportGraph,
) -> None:
    public_contract = _contract(PUBLIC_CONTRACT)
    public = set(public_contract["source_modules"])
    secret = set(public_contract["forbidden_modules"])
    vault = {m for m in graph.modules if m == "vault" or m.startswith("vault.")}

    assert not public & secret, f"both public and secret: {sorted(public & secret)}"
    assert not vault - public - secret, (
        f"vault modules in neither list of {PUBLIC_CONTRACT!r} in pyproject.toml: "
        f"{sorted(vault - public - secret)}; add each to the public part only if it holds no "
        "code that unwraps, opens or decrypts, and to the secret-key part otherwise"
    )
    assert not (public | secret) - vault, f"not vault modules: {sorted((public | secret) - vault)}"
    server_forbidden = set(_contract(SERVER_CONTRACT)["forbidden_modules"])
    assert server_forbidden & vault == secret, (
        "the server's contract must forbid exactly the secret-key part of vault: "
        f"missing {sorted(secret - server_forbidden)}, extra {sorted(server_forbidden - secret)}"
    )


def import_cycles(graph: grimp.ImportGraph) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    return _strongly_connected(imports)


def _strongly_connected(imports: Mapping[str, Iterable[str]]) -> set[frozenset[str]]:
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for imported in imports[module]:
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for module in sorted(imports):
        if module not in order:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_that() -> None:
    imports = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e", "d"]}
    assert _strongly_connected(imports) == {frozenset({"a", "b", "c"})}


def test_no_module_is_in_an_import_cycle(graph: grimp.ImportGraph) -> None:
    cycles = sorted(sorted(c) for c in import_cycles(graph))
    assert not cycles, f"modules in an import cycle: {cycles}"
