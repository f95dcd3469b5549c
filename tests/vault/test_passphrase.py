"""Tests of vault.passphrase: the passphrase rule and generator (format section 18, threat L17).

The estimate is checked against `reference_estimate`, written here from the text of section 18
alone (every piece of every kind, tried in every split), so the fast version in the module and
the text the browser client is written from cannot drift apart.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

from vault.errors import VaultError, WeakPassphrase
from vault.passphrase import (
    GENERATED_WORDS,
    MAX_LENGTH,
    MIN_BITS,
    MIN_LENGTH,
    Reason,
    common_passwords,
    generate_passphrase,
    judge_passphrase,
    require_strong_passphrase,
)

ROOT = Path(__file__).resolve().parent.parent.parent
LIST = ROOT / "vault" / "data" / "common-passwords.txt"
WORDLIST = Mnemonic("english").wordlist
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRONG = "Ik woon in Loppersum sinds 1985"


# -- the reference: section 18 read literally -----------------------------------------------------
def _lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _l33t(text: str) -> str:
    table = {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s"}
    return "".join(table.get(c, "t" if c == "7" else c) for c in text)


@cache
def _list_ranks() -> dict[str, int]:
    ranks: dict[str, int] = {}
    for number, line in enumerate(LIST.read_bytes().decode("ascii").split("\n")[:-1], 1):
        ranks.setdefault(line, number)
    return ranks


def _rank(word: str, context: set[str]) -> int | None:
    return 1 if word in context else _list_ranks().get(word)


def _piece_costs(t: str, i: int, j: int, context: set[str]) -> list[int]:
    u, s = _lower(t), _l33t(_lower(t))
    costs = []
    if j == i + 1:
        c = t[i]
        if c.isascii() and c.isdigit():
            costs.append(332)
        elif c.isascii() and c.isalpha():
            costs.append(470)
        elif c == " ":
            costs.append(100)
        elif 0x21 <= ord(c) <= 0x7E:
            costs.append(504)
        else:
            costs.append(600)
    upper = 100 if any("A" <= c <= "Z" for c in t[i:j]) else 0
    if j - i >= 2 and (rank := _rank(u[i:j], context)) is not None:
        costs.append(100 * rank.bit_length() + upper)
    if j - i >= 2 and s[i:j] != u[i:j] and (rank := _rank(s[i:j], context)) is not None:
        costs.append(100 * rank.bit_length() + 100 + upper)
    for p in range(1, min(i, j - i) + 1):
        if all(u[k] == u[k - p] for k in range(i, j)):
            costs.append(100)
            break
    if j - i >= 3:
        steps = {ord(u[k + 1]) - ord(u[k]) for k in range(i, j - 1)}
        if steps in ({1}, {-1}):
            costs.append(500 + 100 * (j - i).bit_length())
    return costs


def reference_estimate(passphrase: str, context: tuple[str, ...] = ()) -> int:
    t = unicodedata.normalize("NFC", passphrase)
    words = {_lower(unicodedata.normalize("NFC", w)) for w in ("kluis", *context)}
    words = {w for w in words if len(w) >= 2}
    best = [0] + [-1] * len(t)
    for j in range(1, len(t) + 1):
        best[j] = min(best[i] + cost for i in range(j) for cost in _piece_costs(t, i, j, words))
    return best[len(t)]


# -- the bundled list -----------------------------------------------------------------------------
def test_the_list_is_the_file_section_16_names() -> None:
    spec = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    section = spec[spec.index("## 18. Passphrase rule") :]
    digest = re.search(r"SHA-256\s+`([0-9a-f]{64})`", section)
    count = re.search(r"([0-9,]+) lines", section)
    assert digest and count, "section 18 names the list's SHA-256 and its number of lines"
    data = LIST.read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest.group(1)
    lines = data.decode("ascii").split("\n")
    assert lines[-1] == "" and len(lines) - 1 == int(count.group(1).replace(",", ""))


def test_every_list_entry_is_lookup_ready_and_appears_once() -> None:
    entries = LIST.read_text(encoding="ascii").splitlines()
    assert len(entries) == len(set(entries)) == len(common_passwords())
    bad = [e for e in entries if not re.fullmatch(r"[\x21-\x40\x5b-\x7e]{2,32}", e)]
    assert bad == []
    assert common_passwords()[entries[0]] == 1 and common_passwords()[entries[-1]] == len(entries)


def test_the_list_holds_dutch_english_and_local_passwords() -> None:
    ranks = common_passwords()
    for word in ("123456", "password", "wachtwoord", "welkom", "groningen", "aardbeving", "kluis"):
        assert word in ranks, word
    assert ranks["123456"] == 1 and ranks["wachtwoord"] < 100 and ranks["groningen"] < 100


def test_the_list_is_package_data_of_the_wheel() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^vault = \["data/\*\.txt"\]$', pyproject, re.MULTILINE)


# -- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "passphrase",
    ["", "1234", "a", "xK9#mQ2$vL7", "zq\U0001f3e0\U0001f3e0\U0001f3e0\U0001f3e0\U0001f3e0pw!X"],
)
def test_too_short(passphrase: str) -> None:
    verdict = judge_passphrase(passphrase)
    assert verdict.reason is Reason.TOO_SHORT and not verdict.accepted
    assert verdict.message() == f"too short: at least {MIN_LENGTH} characters"


def test_length_counts_code_points_after_nfc() -> None:
    # Twelve code points typed, but e + combining acute accent is one after NFC: eleven.
    decomposed = "xK9#mQ2$vLe\u0301"
    assert len(decomposed) == MIN_LENGTH
    assert judge_passphrase(decomposed).reason is Reason.TOO_SHORT
    # An astral character is one code point (two UTF-16 units in a browser): eleven here too.
    astral = "xK9#mQ2$vL\U0001f3e0"
    assert len(astral.encode("utf-16-le")) // 2 == MIN_LENGTH
    assert judge_passphrase(astral).reason is Reason.TOO_SHORT
    assert judge_passphrase(astral + "q").accepted


def test_too_long() -> None:
    rng = random.Random(256)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(MAX_LENGTH))
    assert judge_passphrase(text).accepted
    verdict = judge_passphrase(text + "q")
    assert verdict.reason is Reason.TOO_LONG and verdict.bits is None


def test_a_lone_surrogate_is_not_text() -> None:
    verdict = judge_passphrase(STRONG + "\ud800")
    assert verdict.reason is Reason.NOT_TEXT and verdict.centibits is None
    assert "not valid text" in verdict.message()


@pytest.mark.parametrize(
    "passphrase", ["1qaz2wsx3edc", "1QAZ2WSX3EDC", "middengroningen", "Congratulations"]
)
def test_the_most_common_passwords_are_refused_in_any_ascii_case(passphrase: str) -> None:
    verdict = judge_passphrase(passphrase)
    assert verdict.reason is Reason.COMMON
    assert verdict.message() == "one of the most common passwords"


@pytest.mark.parametrize(
    "passphrase",
    [
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  # one character repeated
        "Xq7Xq7Xq7Xq7Xq7Xq7",  # a short piece repeated
        "abcdefghijklmnopqrstuvwxyz",  # a sequence
        "9876543210zyxwvu",  # two falling sequences
        "passwordpasswordpassword",  # a list word repeated
        "wachtwoord2024!",  # a Dutch list word, a year and a symbol
        "W@chtw00rd2024!",  # the same in l33t
        "Groningen2024!",  # a local word
        "mijn huis in Groningen scheurt",  # common Dutch words
        "ik hou van jou!!",
        "kluis kluis kluis kluis",  # the built-in context word
    ],
)
def test_predictable_passphrases_are_refused(passphrase: str) -> None:
    verdict = judge_passphrase(passphrase)
    assert verdict.reason is Reason.PREDICTABLE
    assert verdict.bits is not None and verdict.bits < MIN_BITS
    message = verdict.message()
    assert f"at least {MIN_BITS}" in message and f"{verdict.bits} bits" in message


def test_the_username_counts_as_the_most_common_word() -> None:
    passphrase = "Zwartenberg-Qvist-1978"
    assert judge_passphrase(passphrase).accepted
    assert judge_passphrase(passphrase, ["zwartenberg"]).reason is Reason.PREDICTABLE
    assert judge_passphrase(passphrase, ["ZwarteNBerg"]).reason is Reason.PREDICTABLE
    assert judge_passphrase(passphrase, ["q"]).accepted  # a one-letter context word is no word


def test_upper_case_and_l33t_each_cost_one_bit_more() -> None:
    plain = judge_passphrase("password").centibits
    assert plain is not None
    assert judge_passphrase("Password").centibits == plain + 100
    assert judge_passphrase("p@ssword").centibits == plain + 100
    assert judge_passphrase("P@ssword").centibits == plain + 200


def test_weak_passphrase_error_names_the_reason_but_never_the_passphrase() -> None:
    secret = "geheim geheim"
    with pytest.raises(WeakPassphrase) as caught:
        require_strong_passphrase(secret)
    assert isinstance(caught.value, VaultError)
    assert caught.value.reason == "predictable"
    assert str(caught.value).startswith("passphrase refused: too predictable")
    assert "geheim" not in str(caught.value) and "geheim" not in repr(caught.value)
    with pytest.raises(WeakPassphrase, match=r"^passphrase refused: too short"):
        require_strong_passphrase("1234")
    with pytest.raises(TypeError):
        judge_passphrase(b"bytes are not a passphrase")  # type: ignore[arg-type]


# -- acceptance -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "passphrase",
    [STRONG, "xK9#mQ2$vL7@", "appel peer banaan kiwi", "Één café, twee thee en 3 koekjes"],
)
def test_strong_passphrases_are_accepted(passphrase: str) -> None:
    verdict = judge_passphrase(passphrase, ["kees"])
    assert verdict.accepted and verdict.reason is None and verdict.message() == "accepted"
    assert verdict.bits is not None and verdict.bits >= MIN_BITS
    require_strong_passphrase(passphrase, ["kees"])


# -- the estimate against the reference -----------------------------------------------------------
_PIECES = st.sampled_from(
    ["password", "wachtwoord", "kluis", "Kees", "kees", "p@ss", "w0rd", "123", "abc", "zyx",
     "2024", "!", " ", "a", "Q", "7", "é", "e\u0301", "\U0001f3e0", "groningen", "GRONINGEN"]
)  # fmt: skip


@FUZZ
@given(st.lists(_PIECES | st.characters(codec="utf-8"), max_size=14))
def test_the_estimate_equals_section_16_read_literally(pieces: list[str]) -> None:
    text = "".join(pieces)[:40]
    assert judge_passphrase(text, ["kees"]).centibits == reference_estimate(text, ("kees",))


@pytest.mark.parametrize(
    "text", ["", "a", "aa", "abcabcab", "P@ssw0rd2024", "kees1kees2", STRONG, "\U0001f3e0" * 5]
)
def test_the_estimate_equals_the_reference_on_chosen_text(text: str) -> None:
    assert judge_passphrase(text, ["kees"]).centibits == reference_estimate(text, ("kees",))


# -- the generator --------------------------------------------------------------------------------
def test_generated_passphrases_are_six_list_words_and_always_pass() -> None:
    for seed in range(300):
        passphrase = generate_passphrase(random.Random(seed).randrange)
        words = passphrase.split(" ")
        assert len(words) == GENERATED_WORDS and all(w in WORDLIST for w in words)
        assert judge_passphrase(passphrase).accepted


def test_the_generator_uses_the_randomness_it_is_given() -> None:
    assert generate_passphrase(random.Random(7).randrange) == generate_passphrase(
        random.Random(7).randrange
    )
    assert generate_passphrase(random.Random(7).randrange) != generate_passphrase(
        random.Random(8).randrange
    )
    assert generate_passphrase() != generate_passphrase()  # secrets.randbelow by default
    draws = iter([5, 9, 13, 17, 21, 25])
    assert generate_passphrase(lambda n: next(draws)) == " ".join(
        WORDLIST[i] for i in (5, 9, 13, 17, 21, 25)
    )


def test_a_draw_the_rule_refuses_is_drawn_again() -> None:
    # The first draw is one word six times (a repeat: refused), the second is accepted.
    draws = iter([3] * GENERATED_WORDS + [100, 200, 300, 400, 500, 600])
    passphrase = generate_passphrase(lambda n: next(draws))
    assert passphrase == " ".join(WORDLIST[i] for i in (100, 200, 300, 400, 500, 600))
    # The generator judges with the context it is given: a draw of context words is refused.
    first = [100, 200, 300, 400, 500, 600]
    draws = iter([*first, 101, 201, 301, 401, 501, 601])
    passphrase = generate_passphrase(lambda n: next(draws), [WORDLIST[i] for i in first])
    assert passphrase.split(" ")[0] == WORDLIST[101]


def test_a_source_that_is_not_random_is_refused() -> None:
    with pytest.raises(ValueError, match="not random"):
        generate_passphrase(lambda n: 0)
    with pytest.raises(ValueError, match="out of range"):
        generate_passphrase(lambda n: n)
    with pytest.raises(ValueError, match="out of range"):
        generate_passphrase(lambda n: -1)
