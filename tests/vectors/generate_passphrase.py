"""Write the test vectors of docs/format.md section 18 (the passphrase rule) into tests/vectors/.

Run by hand, never by the tests:  .venv/bin/python tests/vectors/generate_passphrase.py
Every passphrase here is fixed, so running it again writes the same bytes; a diff after a run
means the rule, its list or the implementation changed. Each scenario states the verdict it is
meant to show, and the generator stops if the rule gives another one. The field layout is in
tests/vectors/README.md.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path

from vault.passphrase import MAX_LENGTH, generate_passphrase, judge_passphrase

OUT = Path(__file__).resolve().parent
STRONG = "Ik woon in Loppersum sinds 1985"
DIACRITICS = "\u00c9\u00e9n caf\u00e9, twee thee en 3 koekjes"  # "Één café, ..." in NFC
HOUSE = "\U0001f3e0"  # an astral code point: two UTF-16 units, one code point


def fixed_randbelow() -> Callable[[int], int]:
    """A deterministic stand-in for secrets.randbelow, from SHAKE-256 of a fixed name."""
    stream = hashlib.shake_256(b"kluis/test-vectors/passphrase/generated").digest(64)
    position = 0

    def randbelow(n: int) -> int:
        nonlocal position
        value = int.from_bytes(stream[position : position + 2], "big") % n
        position += 2
        return value

    return randbelow


def long_text() -> str:
    stream = hashlib.shake_256(b"kluis/test-vectors/passphrase/long").digest(MAX_LENGTH + 1)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in stream)


# (scenario, description, passphrase, extra context words, reason or None)
SCENARIOS: list[tuple[str, str, str, list[str], str | None]] = [
    ("accept-generated", "a generated passphrase: six BIP-39 words", "", [], None),
    ("accept-sentence", "a sentence of uncommon and common words", STRONG, [], None),
    ("accept-random-12", "twelve random printable characters", "xK9#mQ2$vL7@", [], None),
    ("accept-exactly-50-bits", "estimate exactly 5000: the floor is accepted",
     "ngth vpvm v g", [], None),
    ("accept-decomposed", "typed in NFD: the estimate is that of its NFC form",
     unicodedata.normalize("NFD", DIACRITICS), [], None),
    ("accept-astral", "an astral code point costs 600 like any other non-ASCII one",
     HOUSE + " Kapotte muur, zolder & schuur!", [], None),
    ("accept-max-length", "256 code points, the most allowed", long_text()[:MAX_LENGTH], [],
     None),
    ("accept-username-elsewhere", "the username does not occur in it",
     "Zwartenberg-Qvist-1978", ["kees"], None),
    ("too-short-empty", "nothing typed", "", [], "too_short"),
    ("too-short-digits", "four digits", "1234", [], "too_short"),
    ("too-short-11", "eleven random characters: strong, but too short", "xK9#mQ2$vL7", [],
     "too_short"),
    ("too-short-after-nfc", "twelve code points typed, eleven after NFC (e + U+0301 is one)",
     "xK9#mQ2$vLe\u0301", [], "too_short"),
    ("too-short-astral", "eleven code points, twelve UTF-16 units",
     "xK9#mQ2$vL" + HOUSE, [], "too_short"),
    ("too-long", "257 code points", long_text(), [], "too_long"),
    ("not-text", "a strong sentence with a lone surrogate", STRONG + "\ud800", [], "not_text"),
    ("common", "an entry of the list, 12 characters", "1qaz2wsx3edc", [], "common"),
    ("common-upper-case", "an entry of the list in upper case (looked up in ASCII lower case)",
     "1QAZ2WSX3EDC", [], "common"),
    ("predictable-just-below", "estimate 4998, just under the floor", "qd p v f v t ? ^", [],
     "predictable"),
    ("predictable-repeat", "one letter sixteen times", "a" * 16, [], "predictable"),
    ("predictable-period", "three characters six times", "Xq7" * 6, [], "predictable"),
    ("predictable-sequence", "the alphabet", "abcdefghijklmnopqrstuvwxyz", [], "predictable"),
    ("predictable-falling", "two falling sequences", "9876543210zyxwvu", [], "predictable"),
    ("predictable-words", "a Dutch list word, a year and a symbol", "wachtwoord2024!", [],
     "predictable"),
    ("predictable-l33t", "the same in upper case and l33t", "W@chtw00rd2024!", [],
     "predictable"),
    ("predictable-local", "the province, a year and a symbol", "Groningen2024!", [],
     "predictable"),
    ("predictable-phrase", "common Dutch words", "mijn huis in Groningen scheurt", [],
     "predictable"),
    ("predictable-username", "accepted without context, refused when it is the username",
     "Zwartenberg-Qvist-1978", ["zwartenberg"], "predictable"),
    ("predictable-kluis", "the built-in context word kluis, in upper case", "MijnKluis2024!",
     [], "predictable"),
]  # fmt: skip


def main() -> None:
    for old in OUT.glob("passphrase-*.json"):
        old.unlink()
    for name, description, passphrase, context, reason in SCENARIOS:
        if name == "accept-generated":
            passphrase = generate_passphrase(fixed_randbelow())
        verdict = judge_passphrase(passphrase, context)
        got = None if verdict.reason is None else verdict.reason.value
        if got != reason:
            raise SystemExit(f"{name}: the rule says {got}, the scenario expects {reason}")
        text = unicodedata.normalize("NFC", passphrase)
        doc = {
            "structure": "passphrase",
            "description": description,
            "expect": "success" if reason is None else "WeakPassphrase",
            "passphrase": passphrase,
            "context": context,
            "length": len(text),
            "reason": reason,
            "estimate": verdict.centibits,
        }
        # ASCII-only JSON (\u escapes, lone surrogates included): no editor re-normalises it.
        (OUT / f"passphrase-{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {len(SCENARIOS)} passphrase vectors to {OUT}")


if __name__ == "__main__":
    main()
