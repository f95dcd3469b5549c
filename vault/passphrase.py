"""The passphrase rule: which passphrases a client may set, and a generator of strong ones.

Implements section 18 ("Passphrase rule") of docs/format.md; the browser client applies the
same rule and passes the same vectors (`tests/vectors/passphrase-*.json`). Why a floor at all,
and why this one, is threat L17 in docs/threat-model.md: the server holds the key bundle and its
salt, so a passphrase is exactly as strong as the offline search that finds it.

`judge_passphrase` is the rule: it returns a `Verdict`, either accepted or with one `Reason`,
plus the strength estimate (whole bits, for a meter that advises; the rule alone decides). The
estimate is a minimum-cost split of the passphrase into pieces an attacker would try first
(common passwords and words of the bundled list, the username, repeats, sequences) and single
characters, in integer hundredths of a bit, so every implementation gets the same number.
`generate_passphrase` draws words from the BIP-39 English list: six words, 66 bits.

Pure: the only input beyond the arguments is the bundled list `vault/data/common-passwords.txt`.
"""

from __future__ import annotations

import enum
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from mnemonic import Mnemonic

from .errors import WeakPassphrase

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_BITS = 50
GENERATED_WORDS = 6
GENERATOR_ATTEMPTS = 64

CENTIBITS = 100  # the estimate counts hundredths of a bit
MIN_CENTIBITS = MIN_BITS * CENTIBITS
DIGIT_COST = 332  # floor(100 * log2(10))
LETTER_COST = 470  # floor(100 * log2(26)), either case
SPACE_COST = 100  # U+0020, the usual separator between words
SYMBOL_COST = 504  # floor(100 * log2(33)): the other printable ASCII characters
OTHER_COST = 600  # any other code point
REPEAT_COST = 100  # a piece that repeats the text p code points back, at least p long
SEQUENCE_BASE_COST = 500  # plus 100 per bit of the sequence's length
UPPER_CASE_COST = 100  # a list word written with an upper case letter
SUBSTITUTION_COST = 100  # a list word written with l33t substitutions (p@ssw0rd)
MIN_SEQUENCE = 3
_NO_COST = 1 << 62  # more than any estimate: no repeat piece yet

BUILT_IN_CONTEXT = ("kluis",)
LIST_FILE = "common-passwords.txt"
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s",
                       "5": "s", "7": "t"})  # fmt: skip
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Reason(enum.StrEnum):
    """Why a passphrase is refused; the values are the reason codes of the vectors."""

    NOT_TEXT = "not_text"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    PREDICTABLE = "predictable"


@dataclass(frozen=True)
class Verdict:
    """The rule's answer: `reason` is None when the passphrase is accepted.

    `centibits` is the strength estimate in hundredths of a bit, None where it is not computed
    (text that is not valid, or longer than MAX_LENGTH). The verdict never holds the passphrase.
    """

    reason: Reason | None
    centibits: int | None

    @property
    def accepted(self) -> bool:
        return self.reason is None

    @property
    def bits(self) -> int | None:
        return None if self.centibits is None else self.centibits // CENTIBITS

    def message(self) -> str:
        """The reason in plain words, for one line of an error message."""
        if self.reason is Reason.NOT_TEXT:
            return "it contains characters that are not valid text"
        if self.reason is Reason.TOO_SHORT:
            return f"too short: at least {MIN_LENGTH} characters"
        if self.reason is Reason.TOO_LONG:
            return f"too long: at most {MAX_LENGTH} characters"
        if self.reason is Reason.COMMON:
            return "one of the most common passwords"
        if self.reason is Reason.PREDICTABLE:
            return (
                f"too predictable: common words, names, repeats or sequences give an estimated "
                f"{self.bits} bits, at least {MIN_BITS} are needed"
            )
        return "accepted"


@cache
def common_passwords() -> dict[str, int]:
    """The bundled list: each entry and its rank (its 1-based line number)."""
    text = files("vault").joinpath("data", LIST_FILE).read_text(encoding="ascii")
    ranks: dict[str, int] = {}
    for rank, entry in enumerate(text.splitlines(), 1):
        ranks.setdefault(entry, rank)
    return ranks


@cache
def _longest_entry() -> int:
    return max(map(len, common_passwords()))


def _char_cost(c: str) -> int:
    if "0" <= c <= "9":
        return DIGIT_COST
    if "a" <= c <= "z" or "A" <= c <= "Z":
        return LETTER_COST
    if c == " ":
        return SPACE_COST
    if "!" <= c <= "~":
        return SYMBOL_COST
    return OTHER_COST


def _context_words(context: Iterable[str]) -> set[str]:
    words = set()
    for word in (*BUILT_IN_CONTEXT, *context):
        folded = unicodedata.normalize("NFC", word).translate(_ASCII_LOWER)
        if len(folded) >= 2:
            words.add(folded)
    return words


def _estimate(text: str, context: set[str]) -> int:
    """Section 16's estimate of NFC `text`, in hundredths of a bit."""
    ranks = common_passwords()
    lower = text.translate(_ASCII_LOWER)
    leet = lower.translate(_LEET)
    longest = max(_longest_entry(), *map(len, context))
    n = len(text)
    best = [0] * (n + 1)

    def word_cost(word: str) -> int | None:
        rank = 1 if word in context else ranks.get(word)
        return None if rank is None else rank.bit_length() * CENTIBITS

    # pieces[j]: (start, cost) of every piece ending at j other than a single character.
    pieces: list[list[tuple[int, int]]] = [[] for _ in range(n + 1)]
    for i in range(n):
        for j in range(i + 2, min(n, i + longest) + 1):
            upper = UPPER_CASE_COST if lower[i:j] != text[i:j] else 0
            plain = word_cost(lower[i:j])
            if plain is not None:
                pieces[j].append((i, plain + upper))
            if leet[i:j] != lower[i:j]:
                substituted = word_cost(leet[i:j])
                if substituted is not None:
                    pieces[j].append((i, substituted + upper + SUBSTITUTION_COST))
        # The longest sequence (code points rising or falling by one) starting at i.
        end = i + 1
        if i + 1 < n and abs(ord(lower[i + 1]) - ord(lower[i])) == 1:
            step = ord(lower[i + 1]) - ord(lower[i])
            while end < n and ord(lower[end]) - ord(lower[end - 1]) == step:
                end += 1
        for j in range(i + MIN_SEQUENCE, end + 1):
            pieces[j].append((i, SEQUENCE_BASE_COST + (j - i).bit_length() * CENTIBITS))
    # A repeat is a piece [i, j) that continues the text p code points back (lower[k] equals
    # lower[k - p] for every k in it), at least p long and with p <= i. For each period p this
    # keeps the current run of such k (from run_start[p]) and the least best[i] over the starts
    # i allowed so far, run_start[p] <= i <= j - p: the whole search is quadratic, not cubic.
    run_start = [-1] * n
    next_start = [0] * n
    least = [0] * n
    for j in range(1, n + 1):
        k = j - 1
        cost = best[k] + _char_cost(text[k])
        for period in range(1, k + 1):
            if lower[k] != lower[k - period]:
                run_start[period] = -1
                continue
            if run_start[period] < 0:
                run_start[period] = next_start[period] = k
                least[period] = _NO_COST
            while next_start[period] <= j - period:
                least[period] = min(least[period], best[next_start[period]])
                next_start[period] += 1
            cost = min(cost, least[period] + REPEAT_COST)
        for start, piece in pieces[j]:
            cost = min(cost, best[start] + piece)
        best[j] = cost
    return best[n]


def judge_passphrase(passphrase: str, context: Iterable[str] = ()) -> Verdict:
    """Apply the rule of section 18 to a passphrase someone wants to set.

    `context` holds words an attacker knows, such as the username: each counts like the most
    common password. Raises TypeError for anything but a str; every str gets a Verdict.
    """
    if not isinstance(passphrase, str):
        raise TypeError("a passphrase is text (str)")
    words = _context_words(context)
    text = unicodedata.normalize("NFC", passphrase)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Verdict(Reason.NOT_TEXT, None)
    if len(text) > MAX_LENGTH:
        return Verdict(Reason.TOO_LONG, None)
    centibits = _estimate(text, words)
    if len(text) < MIN_LENGTH:
        return Verdict(Reason.TOO_SHORT, centibits)
    if text.translate(_ASCII_LOWER) in common_passwords():
        return Verdict(Reason.COMMON, centibits)
    if centibits < MIN_CENTIBITS:
        return Verdict(Reason.PREDICTABLE, centibits)
    return Verdict(None, centibits)


def require_strong_passphrase(passphrase: str, context: Iterable[str] = ()) -> None:
    """Raise WeakPassphrase (naming the reason, never the passphrase) unless it is accepted."""
    verdict = judge_passphrase(passphrase, context)
    if verdict.reason is not None:
        raise WeakPassphrase(verdict.reason.value, verdict.message())


@cache
def _generator_words() -> tuple[str, ...]:
    return tuple(Mnemonic("english").wordlist)


def generate_passphrase(
    randbelow: Callable[[int], int] = secrets.randbelow, context: Iterable[str] = ()
) -> str:
    """Six random words of the BIP-39 English list, separated by spaces (66 bits).

    `randbelow(n)` returns a uniform integer in 0..n-1: `secrets.randbelow` unless a test
    injects its own. A draw the rule would refuse (possible in principle: one word six times,
    or mostly context words) is drawn again, so the result always passes the rule; a source
    that keeps giving such draws is refused with ValueError.
    """
    context = tuple(context)
    word_list = _generator_words()
    for _ in range(GENERATOR_ATTEMPTS):
        indices = [randbelow(len(word_list)) for _ in range(GENERATED_WORDS)]
        if not all(isinstance(i, int) and 0 <= i < len(word_list) for i in indices):
            raise ValueError("randbelow returned a number out of range")
        candidate = " ".join(word_list[i] for i in indices)
        if judge_passphrase(candidate, context).accepted:
            return candidate
    raise ValueError("the randomness source gave no acceptable passphrase: it is not random")
