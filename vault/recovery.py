"""The recovery code: 32 random bytes shown once as 24 BIP-39 words, and its two subkeys.

Implements section 5 ("Recovery code") of docs/format.md. The code E is 256 bits of entropy
written as a 24-word BIP-39 mnemonic (English word list, 8-bit SHA-256 checksum in the last
word). Because E is uniformly random no slow KDF is needed: `recovery_auth_key` (sent to the
server) and `recovery_bundle_key` (opens the purpose-2 key bundle) are plain HKDF subkeys.

Typed input is normalised by one rule every client shares (`recovery_words`): A-Z become a-z,
and every run of characters that are not a-z is a separator, so the numbers the code is
printed with, punctuation, case and line breaks do not matter. A code with an unknown word, the
wrong number of words or a bad checksum raises `InvalidRecoveryCode` before anything is
derived; the message names the position of a bad word, never the words themselves.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from mnemonic import Mnemonic

from . import labels
from .derive import derive
from .errors import InvalidRecoveryCode

RECOVERY_ENTROPY_SIZE = 32
RECOVERY_WORD_COUNT = 24
WORD_LIST_LANGUAGE = "english"
DISPLAY_ROWS = 6
DISPLAY_WORDS_PER_ROW = 4


@cache
def _mnemonic() -> Mnemonic:
    # Loading the word list reads a file; do it once per process.
    return Mnemonic(WORD_LIST_LANGUAGE)


@cache
def _word_set() -> frozenset[str]:
    return frozenset(_mnemonic().wordlist)


@dataclass(frozen=True, repr=False, eq=False)
class RecoveryKeys:
    """The two subkeys of a recovery code (section 5)."""

    auth_key: bytes
    bundle_key: bytes

    def __repr__(self) -> str:
        return "RecoveryKeys(<keys hidden>)"

    @classmethod
    def from_entropy(cls, entropy: bytes) -> RecoveryKeys:
        _check_entropy(entropy)
        return cls(
            auth_key=derive(entropy, labels.RECOVERY_AUTH_KEY),
            bundle_key=derive(entropy, labels.RECOVERY_BUNDLE_KEY),
        )


def _check_entropy(entropy: object) -> None:
    if not isinstance(entropy, bytes) or len(entropy) != RECOVERY_ENTROPY_SIZE:
        raise ValueError(f"a recovery code holds {RECOVERY_ENTROPY_SIZE} bytes")


@dataclass(frozen=True, repr=False, eq=False)
class RecoveryCode:
    """A recovery code E. `words` is what the user writes down; `keys()` what the client uses."""

    entropy: bytes

    def __post_init__(self) -> None:
        _check_entropy(self.entropy)

    def __repr__(self) -> str:
        return "RecoveryCode(<hidden>)"

    @classmethod
    def generate(cls) -> RecoveryCode:
        return cls(secrets.token_bytes(RECOVERY_ENTROPY_SIZE))

    @classmethod
    def parse(cls, text: str) -> RecoveryCode:
        return parse_recovery_code(text)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(_mnemonic().to_mnemonic(self.entropy).split(" "))

    @property
    def phrase(self) -> str:
        """The 24 words separated by single spaces (the canonical text form)."""
        return " ".join(self.words)

    def keys(self) -> RecoveryKeys:
        return RecoveryKeys.from_entropy(self.entropy)


def _positions(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return f"word {numbers[0]} is"
    listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
    return f"words {listed} are"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NOT_A_LETTER = re.compile("[^a-z]+")  # no IGNORECASE: a-z are exactly U+0061 to U+007A


def recovery_words(text: str) -> list[str]:
    """The words of a typed recovery code (format section 5): ASCII A-Z folded to a-z, every run
    of other characters a separator.

    Digits, punctuation, white space, line breaks and every non-ASCII character separate words,
    so the code pastes as printed ("1 topic   2 lunch ..."). Nothing else is folded or
    normalised (no Unicode case folding, no NFKC): every implementation gets the same words,
    and an accented letter splits its word into pieces that are not in the list.
    """
    return [word for word in _NOT_A_LETTER.split(text.translate(_ASCII_LOWER)) if word]


def parse_recovery_code(text: str) -> RecoveryCode:
    """Parse a typed recovery code; raise InvalidRecoveryCode naming what is wrong."""
    if not isinstance(text, str):
        raise InvalidRecoveryCode("a recovery code is text: 24 words")
    words = recovery_words(text)
    if not words:
        raise InvalidRecoveryCode("the recovery code is empty: it has 24 words")
    known = _word_set()
    unknown = [position for position, word in enumerate(words, 1) if word not in known]
    # Unknown words first: a typo is the most likely mistake and the most useful to point at,
    # even when it also changed the count (two words run together).
    if unknown:
        raise InvalidRecoveryCode(
            f"{_positions(unknown)} not in the recovery word list; check the spelling"
        )
    if len(words) != RECOVERY_WORD_COUNT:
        raise InvalidRecoveryCode(
            f"a recovery code has {RECOVERY_WORD_COUNT} words, this one has {len(words)}"
        )
    try:
        entropy = bytes(_mnemonic().to_entropy(words))
    except ValueError:
        raise InvalidRecoveryCode(
            "the recovery code's checksum does not match: a word is mistyped or out of order"
        ) from None
    return RecoveryCode(entropy)


def format_recovery_code(words: Sequence[str]) -> str:
    """The 24 words in 6 numbered rows of 4, for showing once at registration.

    Each word carries its own number, so a user copying it onto paper cannot lose the order:

         1 abandon     2 ability     3 able        4 about
    """
    if isinstance(words, str) or len(words) != RECOVERY_WORD_COUNT:
        raise ValueError(f"a recovery code has {RECOVERY_WORD_COUNT} words")
    width = max(len(word) for word in words)
    rows = []
    for row in range(DISPLAY_ROWS):
        cells = []
        for column in range(DISPLAY_WORDS_PER_ROW):
            index = row * DISPLAY_WORDS_PER_ROW + column
            cells.append(f"{index + 1:>2} {words[index]:<{width}}")
        rows.append("   ".join(cells).rstrip())
    return "\n".join(rows)
