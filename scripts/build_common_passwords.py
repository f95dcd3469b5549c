"""Rebuild vault/data/common-passwords.txt, the list the passphrase rule reads.

The entries come from three npm packages of zxcvbn-ts (MIT licence; details and attribution in
vault/data/README.md). Fetch them and run this from the repository root:

    mkdir -p /tmp/zxcvbn && cd /tmp/zxcvbn && npm pack @zxcvbn-ts/language-common@4.1.3 \\
        @zxcvbn-ts/language-nl-be@3.0.2 @zxcvbn-ts/language-en@4.1.1 && cd -
    .venv/bin/python scripts/build_common_passwords.py /tmp/zxcvbn

The output is deterministic: the same tarballs give the same file, whose SHA-256 is in
docs/format.md section 18 (a rebuilt list that differs is a change of the passphrase rule).

The lists are merged round-robin, most common first: the 1st password, the 1st Dutch word,
the 1st English word, the 1st Dutch first name, the 1st local word (LOCAL, below), then the
2nd of each, and so on; an entry
already taken is skipped, as is one that is not 2 to 32 characters of printable ASCII without
upper case letters or space (the rule looks entries up in ASCII lower case, docs/format.md).
"""

from __future__ import annotations

import json
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "vault" / "data" / "common-passwords.txt"

# (tarball, file inside it, how many of its most common entries to take)
SOURCES = [
    ("zxcvbn-ts-language-common-4.1.3.tgz", "package/src/passwords.json", 20_000),
    ("zxcvbn-ts-language-nl-be-3.0.2.tgz", "package/src/commonWords.json", 10_000),
    ("zxcvbn-ts-language-en-4.1.1.tgz", "package/src/commonWords.json", 8_000),
]
NAMES = (
    "zxcvbn-ts-language-nl-be-3.0.2.tgz",
    ("package/src/boysFirstnames.json", "package/src/girlsFirstnames.json"),
    2_000,
)
# Words an attacker of this service tries first: its name, the Dutch for "password" and
# "welcome", the province and the places of the gas field, and the vocabulary of the damage
# claims (written here, no source needed). Lower case ASCII, without spaces or hyphens, as the
# rule looks them up.
LOCAL = """
    kluis wachtwoord welkom groningen aardbeving gaswinning schade loppersum appingedam
    delfzijl slochteren middengroningen eemsdelta hogeland hethogeland westerkwartier oldambt
    veendam pekela stadskanaal winsum bedum tenboer zuidhorn hoogezand sappemeer siddeburen
    garrelsweer wirdum huizinge zeerijp westeremden uithuizen warffum eemshaven aardbevingen
    bevingsschade versterking mijnbouw beving scheur scheuren gasveld dossier nam img ncg
""".split()  # noqa: SIM905 (a list of words to read)
MIN_ENTRY, MAX_ENTRY = 2, 32


def read_list(directory: Path, tarball: str, member: str) -> list[str]:
    with tarfile.open(directory / tarball) as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise SystemExit(f"{tarball} has no {member}")
        data = json.load(handle)
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise SystemExit(f"{tarball}:{member} is not a list of strings")
    return data


def alternate(first: list[str], second: list[str]) -> list[str]:
    merged: list[str] = []
    for i in range(max(len(first), len(second))):
        merged.extend(x[i] for x in (first, second) if i < len(x))
    return merged


def usable(entry: str) -> bool:
    return (
        MIN_ENTRY <= len(entry) <= MAX_ENTRY
        and all(0x21 <= ord(c) <= 0x7E for c in entry)
        and not any("A" <= c <= "Z" for c in entry)
    )


def merged(lists: list[list[str]]) -> Iterator[str]:
    seen: set[str] = set()
    for i in range(max(len(x) for x in lists)):
        for entries in lists:
            if i < len(entries) and usable(entries[i]) and entries[i] not in seen:
                seen.add(entries[i])
                yield entries[i]


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    directory = Path(sys.argv[1])
    lists = [read_list(directory, tarball, member)[:count] for tarball, member, count in SOURCES]
    tarball, (boys, girls), count = NAMES
    names = alternate(read_list(directory, tarball, boys), read_list(directory, tarball, girls))
    lists.append(names[:count])
    lists.append(LOCAL)
    entries = list(merged(lists))
    OUTPUT.write_text("".join(f"{entry}\n" for entry in entries), encoding="ascii")
    print(f"{OUTPUT}: {len(entries)} entries, {OUTPUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
