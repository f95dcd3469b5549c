"""Tests of vault.recovery: the 24-word recovery code and its two subkeys (format section 5)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

from vault import labels
from vault.derive import derive
from vault.errors import InvalidRecoveryCode
from vault.recovery import (
    RecoveryCode,
    RecoveryKeys,
    format_recovery_code,
    parse_recovery_code,
    recovery_words,
)

WORDLIST = Mnemonic("english").wordlist
ENTROPY = bytes.fromhex("e510a5451b9c3005961e4cddcc10a4fae3d1ce5d31ba3355ddc6ab963a8f417f")
CODE = RecoveryCode(ENTROPY)
WORDS = list(CODE.words)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Reference phrases of the BIP-39 test vectors (trezor/python-mnemonic vectors.json).
_LEGAL = "legal winner thank year wave sausage worth useful "
_LETTER = "letter advice cage absurd amount doctor acoustic avoid "
BIP39 = [
    ("00" * 32, "abandon " * 23 + "art"),
    ("7f" * 32, _LEGAL * 2 + "legal winner thank year wave sausage worth title"),
    ("80" * 32, _LETTER * 2 + "letter advice cage absurd amount doctor acoustic bless"),
    ("ff" * 32, "zoo " * 23 + "vote"),
]


def phrase(words: list[str]) -> str:
    return " ".join(words)


# -- generating and reading back ------------------------------------------------------------------


def test_generate_gives_24_known_words_and_fresh_entropy() -> None:
    a, b = RecoveryCode.generate(), RecoveryCode.generate()
    assert len(a.entropy) == 32 and a.entropy != b.entropy
    assert len(a.words) == 24 and all(word in WORDLIST for word in a.words)
    assert parse_recovery_code(a.phrase).entropy == a.entropy


@pytest.mark.parametrize(("entropy", "words"), BIP39)
def test_bip39_reference_phrases(entropy: str, words: str) -> None:
    code = RecoveryCode(bytes.fromhex(entropy))
    assert code.phrase == words
    assert parse_recovery_code(words).entropy == code.entropy


@pytest.mark.parametrize(
    "typed",
    [
        phrase(WORDS).upper(),
        "\n\t  " + "\t".join(WORDS) + "  \r\n",
        " \t ".join(w.capitalize() for w in WORDS),
        "\n".join(" ".join(WORDS[i : i + 4]) for i in range(0, 24, 4)),
    ],
    ids=["upper", "tabs", "mixed-space-capitalised", "rows"],
)
def test_parse_accepts_any_case_and_white_space(typed: str) -> None:
    assert RecoveryCode.parse(typed).entropy == ENTROPY


# -- refusals -------------------------------------------------------------------------------------


def _refused(typed: Any) -> str:
    with pytest.raises(InvalidRecoveryCode) as info:
        parse_recovery_code(typed)
    return str(info.value)


@pytest.mark.parametrize("count", [0, 1, 12, 15, 18, 21, 23, 25, 48])
def test_wrong_number_of_words(count: int) -> None:
    typed = phrase((WORDS * 2)[:count])
    message = _refused(typed)
    assert ("24 words" in message) and (count == 0 or str(count) in message)


def test_a_valid_12_word_bip39_phrase_is_still_refused() -> None:
    twelve = Mnemonic("english").to_mnemonic(bytes(16))
    assert Mnemonic("english").check(twelve)
    assert "has 12" in _refused(twelve)


@pytest.mark.parametrize("position", [1, 5, 24])
def test_unknown_word_names_its_position_not_the_word(position: int) -> None:
    words = list(WORDS)
    words[position - 1] = "kluisje"
    message = _refused(phrase(words))
    assert f"word {position} " in message and "kluisje" not in message


def test_several_unknown_words_are_all_named() -> None:
    words = list(WORDS)
    words[1], words[9] = "xx", "yy"
    assert "words 2 and 10 are" in _refused(phrase(words))


@pytest.mark.parametrize(
    "bad",
    ["aban", "abandonn", "ábandon", "\u0430bandon", "aban1don", "aban-don", "aban\u200bdon"],
    ids=["prefix", "extra-letter", "accent", "cyrillic-a", "digit", "hyphen", "zero-width"],
)
def test_near_words_are_unknown(bad: str) -> None:
    # A character that is not an ASCII letter separates words: inside a word, it splits it into
    # pieces that are not words (an accented or other non-ASCII letter is never folded to a-z).
    message = _refused(phrase([bad, *WORDS[1:]]))
    assert re.match(r"words? 1\b", message), message


def test_recovery_words_is_the_normalisation() -> None:
    typed = "\ufeff 1. Topic,\r\n2) LUNCH;\t3 eye-brow \u00a0damp\u2014seek\u2026 tópic"
    assert recovery_words(typed) == [
        "topic", "lunch", "eye", "brow", "damp", "seek", "t", "pic",
    ]  # fmt: skip
    assert recovery_words("") == [] and recovery_words("1 2 3 . , \n") == []


def numbered(words: list[str], separator: str = " ", row_end: str = "\n") -> str:
    """The words with their numbers, four to a row, as a person copies them from the screen."""
    cells = [f"{i}{separator}{w}" for i, w in enumerate(words, 1)]
    return row_end.join("   ".join(cells[i : i + 4]) for i in range(0, len(cells), 4))


@pytest.mark.parametrize(
    "typed",
    [
        format_recovery_code(WORDS),
        format_recovery_code(WORDS) + "\n",
        numbered(WORDS),
        numbered(WORDS, ". ", "\r\n"),
        numbered([w.upper() for w in WORDS], ") ", "\n\n"),
        ", ".join(WORDS),
        "\n".join(f"{i}.\t{w.capitalize()}," for i, w in enumerate(WORDS, 1)),
        " - ".join(WORDS) + ".",
        "\u00a0".join(WORDS),
        "\ufeff" + "\u2022 ".join(WORDS),
        " ".join(f"{i:02d}{w}" for i, w in enumerate(WORDS, 1)),
    ],
    ids=[
        "as-printed", "as-printed-newline", "numbered", "numbered-dots-crlf",
        "numbered-upper-blank-lines", "commas", "one-per-line", "dashes-full-stop",
        "no-break-spaces", "bullets-after-bom", "numbers-glued-on",
    ],
)  # fmt: skip
def test_numbers_punctuation_case_and_line_breaks_are_ignored(typed: str) -> None:
    assert parse_recovery_code(typed).entropy == ENTROPY


def test_the_code_as_printed_names_the_printed_number_of_a_bad_word() -> None:
    words = list(WORDS)
    words[15] = "kluisje"
    message = _refused(format_recovery_code(words))
    assert "word 16 " in message and "kluisje" not in message


def test_the_code_as_printed_with_a_word_missing_is_refused() -> None:
    printed = format_recovery_code(WORDS).splitlines()
    printed[2] = printed[2].rsplit(" ", 1)[0]  # copied row 3 without its last word
    assert "has 23" in _refused("\n".join(printed))


def test_the_code_as_printed_with_two_words_swapped_fails_the_checksum() -> None:
    words = [WORDS[1], WORDS[0], *WORDS[2:]]
    assert "checksum" in _refused(format_recovery_code(words))


def test_unknown_word_is_reported_before_a_wrong_count() -> None:
    # Two words typed as one: the typo is the useful thing to point at.
    run_together = [WORDS[0] + WORDS[1], *WORDS[2:]]
    assert "word 1 " in _refused(phrase(run_together))


def test_every_other_last_word_but_the_right_few_fails_the_checksum() -> None:
    # The last word holds 3 bits of entropy and the 8-bit checksum: exactly 8 of the 2048
    # words make a valid code with the first 23, and only the original gives this entropy.
    valid = []
    for word in WORDLIST:
        try:
            code = parse_recovery_code(phrase([*WORDS[:-1], word]))
        except InvalidRecoveryCode as exc:
            assert "checksum" in str(exc)
            continue
        valid.append(word)
        assert (code.entropy == ENTROPY) == (word == WORDS[-1])
    assert len(valid) == 8 and WORDS[-1] in valid


def test_swapped_words_fail_the_checksum() -> None:
    swapped = [WORDS[1], WORDS[0], *WORDS[2:]]
    assert "checksum" in _refused(phrase(swapped))


@pytest.mark.parametrize("typed", ["", "   \n\t", b"abandon", None, 24, WORDS])
def test_empty_or_not_text(typed: Any) -> None:
    _refused(typed)


def test_entropy_must_be_32_bytes() -> None:
    for bad in (b"", bytes(16), bytes(31), bytes(33), "00" * 32, None):
        with pytest.raises(ValueError):
            RecoveryCode(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            RecoveryKeys.from_entropy(bad)  # type: ignore[arg-type]


# -- keys -----------------------------------------------------------------------------------------


def test_keys_are_the_two_hkdf_subkeys_of_the_entropy() -> None:
    keys = CODE.keys()
    assert keys.auth_key == derive(ENTROPY, labels.RECOVERY_AUTH_KEY)
    assert keys.bundle_key == derive(ENTROPY, labels.RECOVERY_BUNDLE_KEY)
    assert keys.auth_key != keys.bundle_key
    # Not the passphrase labels: a recovery key never doubles as a passphrase key (L16).
    assert keys.bundle_key != derive(ENTROPY, labels.BUNDLE_KEY)


def test_keys_are_deterministic_and_depend_on_every_bit() -> None:
    again = parse_recovery_code(CODE.phrase).keys()
    assert again.auth_key == CODE.keys().auth_key
    other = RecoveryCode(bytes([ENTROPY[0] ^ 1]) + ENTROPY[1:]).keys()
    assert other.auth_key != again.auth_key and other.bundle_key != again.bundle_key


def test_repr_hides_the_code_and_the_keys() -> None:
    keys = CODE.keys()
    text = repr(CODE) + str(CODE) + repr(keys) + str(keys)
    for secret in (ENTROPY, keys.auth_key, keys.bundle_key):
        assert secret.hex() not in text and repr(secret) not in text
    assert not any(re.search(rf"\b{word}\b", text) for word in WORDS)


# -- display --------------------------------------------------------------------------------------


def test_format_shows_6_numbered_rows_of_4_in_order() -> None:
    text = format_recovery_code(CODE.words)
    rows = text.splitlines()
    assert len(rows) == 6
    cells = [re.findall(r"(\d+) (\S+)", row) for row in rows]
    assert all(len(row) == 4 for row in cells)
    flat = [cell for row in cells for cell in row]
    assert [int(n) for n, _ in flat] == list(range(1, 25))
    assert [w for _, w in flat] == WORDS
    assert not any(row.endswith(" ") for row in rows)
    # Copying the words back out of the display gives the code again.
    assert parse_recovery_code(" ".join(w for _, w in flat)).entropy == ENTROPY


@pytest.mark.parametrize("words", [WORDS[:23], [*WORDS, "zoo"], [], phrase(WORDS)])
def test_format_refuses_anything_but_24_words(words: Any) -> None:
    with pytest.raises(ValueError):
        format_recovery_code(words)


# -- robustness -----------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=400))
def test_random_text_raises_only_invalid_recovery_code(typed: str) -> None:
    try:
        code = parse_recovery_code(typed)
    except InvalidRecoveryCode:
        return
    assert len(code.entropy) == 32


@FUZZ
@given(st.lists(st.sampled_from(WORDLIST), min_size=20, max_size=28))
def test_random_word_lists_parse_exactly_when_the_checksum_holds(words: list[str]) -> None:
    typed = phrase(words)
    if len(words) != 24:
        with pytest.raises(InvalidRecoveryCode):
            parse_recovery_code(typed)
        return
    try:
        code = parse_recovery_code(typed)
    except InvalidRecoveryCode:
        assert not Mnemonic("english").check(typed)
        return
    assert code.phrase == typed


@FUZZ
@given(st.integers(0, 23), st.text(min_size=1, max_size=12))
def test_one_word_replaced_by_random_text(position: int, replacement: str) -> None:
    words = list(WORDS)
    words[position] = replacement
    try:
        code = parse_recovery_code(phrase(words))
    except InvalidRecoveryCode:
        return
    # Only a replacement that is itself a correct code's word(s) may parse.
    assert len(code.entropy) == 32
