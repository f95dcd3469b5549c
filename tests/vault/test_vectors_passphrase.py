"""Check the committed vectors of section 18 (the passphrase rule).

The JSON files are read, never written: tests/vectors/generate_passphrase.py makes them by
hand. Each gives a passphrase and its context; the rule must give exactly the reason code and
the estimate (in hundredths of a bit) the vector names, as the browser client must too.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from mnemonic import Mnemonic

from vault.errors import WeakPassphrase
from vault.passphrase import GENERATED_WORDS, Reason, judge_passphrase, require_strong_passphrase

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("passphrase-*.json"))
FIELDS = {
    "structure", "description", "expect", "passphrase", "context", "length", "reason", "estimate"
}  # fmt: skip


def load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="ascii"))
    return vector


def test_there_are_accept_and_refuse_vectors_for_every_reason() -> None:
    reasons = [load(path)["reason"] for path in FILES]
    assert set(reasons) == {None} | {reason.value for reason in Reason}
    assert reasons.count(None) < len(reasons) / 2, "refusals outnumber acceptances"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = load(path)
    assert set(v) == FIELDS and v["structure"] == "passphrase" and v["description"]
    assert v["length"] == len(unicodedata.normalize("NFC", v["passphrase"]))
    verdict = judge_passphrase(v["passphrase"], v["context"])
    assert verdict.centibits == v["estimate"]
    if v["expect"] == "success":
        assert v["reason"] is None and verdict.accepted
        require_strong_passphrase(v["passphrase"], v["context"])
        return
    assert v["expect"] == "WeakPassphrase"
    assert verdict.reason == Reason(v["reason"])
    with pytest.raises(WeakPassphrase) as caught:
        require_strong_passphrase(v["passphrase"], v["context"])
    assert caught.value.reason == v["reason"]


def test_the_generated_vector_is_six_bip39_words() -> None:
    words = load(VECTORS / "passphrase-accept-generated.json")["passphrase"].split(" ")
    assert len(words) == GENERATED_WORDS
    assert set(words) <= set(Mnemonic("english").wordlist)


def test_the_username_vectors_differ_only_in_their_context() -> None:
    accepted = load(VECTORS / "passphrase-accept-username-elsewhere.json")
    refused = load(VECTORS / "passphrase-predictable-username.json")
    assert accepted["passphrase"] == refused["passphrase"]
    assert accepted["context"] != refused["context"]
