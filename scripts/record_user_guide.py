"""Record every example of docs/user-guide.md in one real run, and paste the outputs in.

    .venv/bin/python scripts/record_user_guide.py            # run, print the blocks
    .venv/bin/python scripts/record_user_guide.py --apply    # run, rewrite docs/user-guide.md

Starts `kluis server` on loopback (port 8000 if free) in a temporary folder, and plays the
guide's story there with the real `kluis` program: Anna on a laptop, a tablet and a phone, the
contractor Bouwbedrijf Wierda, the gemeente Groningen, and Els of the organisation gemeente-mg,
each with a profile and a folder of their own. A command that asks for a passphrase or a
recovery code runs on a pseudo-terminal, as a person types it (what is typed is hidden, as
there); the rest run with the passphrase in the environment. Each output block of the guide
follows a line `<!-- recorded: NAME -->`; `--apply` replaces the indented block after each
such line with block NAME of this run. Only three things are shortened, each marked `...`: the
middle of Anna's recovery code, and the recovery codes of the other accounts.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "user-guide.md"
KLUIS = str(Path(sys.executable).with_name("kluis"))
MARKER = re.compile(r"^<!-- recorded: ([a-z0-9-]+) -->$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

PASSPHRASES = {
    "anna": "zeven kraaien op het dak van de schuur",
    "gemeente-groningen": "loket drie sluit om vijf uur 's middags",
    "els.gemeente": "de brug over het damsterdiep staat open",
}
ANNA_NEW = "een nieuwe zin voor een nieuw jaar in Loppersum"
EXPORT_PASSPHRASE = "het dossier gaat mee naar de advocaat"  # noqa: S105 (an example)


@dataclass
class Device:
    """One person's profile on one computer, and the folder they work in."""

    name: str
    user: str
    folder: Path
    server: str
    passphrase: str = ""

    def env(self, with_passphrase: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLUIS_")}
        env.update(
            KLUIS_SERVER=self.server, KLUIS_PROFILE=str(self.folder / ".profile"), COLUMNS="200"
        )
        env["LC_ALL"] = env["LANG"] = "C.UTF-8"
        if with_passphrase and self.passphrase:
            env["KLUIS_PASSPHRASE"] = self.passphrase
        return env


@dataclass
class Recorder:
    blocks: dict[str, list[str]] = field(default_factory=dict)

    def add(self, block: str, lines: list[str]) -> None:
        self.blocks.setdefault(block, []).extend(lines)

    def run(
        self, block: str | None, device: Device, *args: str, env: dict[str, str] | None = None
    ) -> str:
        """`kluis ARGS` as `device`; the transcript goes into `block` (if any)."""
        result = subprocess.run(
            [KLUIS, *args],
            cwd=device.folder,
            env={**device.env(), **(env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        if block:
            self.add(block, [f"$ kluis {shlex.join(args)}", *output.splitlines()])
        return output

    def typed(
        self,
        block: str | None,
        device: Device,
        args: list[str],
        answers: list[tuple[str, str]],
        program: list[str] | None = None,
    ) -> str:
        """`kluis ARGS` (or `program`) on a terminal: each answer is typed once its prompt shows
        and the terminal hides what is typed; returns what the screen showed."""
        argv = program or [KLUIS, *args]
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(device.folder)
                os.execve(argv[0], argv, device.env(with_passphrase=False))  # noqa: S606
            finally:
                os._exit(127)
        seen, position, pending = b"", 0, [(p.encode(), a.encode()) for p, a in answers]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0] in seen[position:]:
                if termios.tcgetattr(fd)[3] & termios.ECHO:
                    continue
                prompt, text = pending.pop(0)
                position = seen.index(prompt, position) + len(prompt)
                os.write(fd, text)
        os.waitpid(pid, 0)
        os.close(fd)
        screen = ANSI.sub("", seen.decode("utf-8", "replace")).replace("\r\n", "\n")
        lines = [line.rstrip() for line in screen.replace("\r", "").splitlines()]
        lines = fold_prompts(lines, [p for p, _ in answers])
        if block:
            shown = shlex.join(args) if program is None else shlex.join(program)
            self.add(block, [f"$ {'kluis ' + shown if program is None else shown}", *lines])
        return "\n".join(lines)

    def note(self, block: str, *lines: str) -> None:
        self.add(block, list(lines))


def flat(texts: list[str]) -> list[str]:
    """The lines of a block (an entry may hold several; an empty one is an empty line)."""
    return [line for text in texts for line in (text.splitlines() or [""])]


def fold_prompts(lines: list[str], prompts: list[str]) -> list[str]:
    """A prompt and the newline the hidden answer ends with share one line, as on a screen
    (a pasted recovery code's rows are hidden too: the prompt line stays)."""
    out: list[str] = []
    for line in lines:
        if out and out[-1] == "" and any(line.startswith(p) for p in prompts):
            out.pop()
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def wait_ready(url: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server at {url} did not start")


def recovery_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(r"^\s*\d+ [a-z]", line)]


def shorten_code(lines: list[str], keep_all: bool) -> list[str]:
    """Anna's code keeps its first two and last rows; the others' codes are left out."""
    rows = [i for i, line in enumerate(lines) if re.match(r"^\s*\d+ [a-z]+\s+\d+ [a-z]", line)]
    if not rows:
        return lines
    keep = {rows[0], rows[1], rows[-1]} if keep_all else set()
    shortened = [line for i, line in enumerate(lines) if i not in rows or i in keep]
    index = shortened.index(lines[rows[-1]]) if keep_all else len(shortened)
    if not keep_all:  # the account line, the fingerprint; then "..."
        cut = next(i for i, line in enumerate(lines) if "fingerprint:" in line) + 2
        return [*lines[:cut], "..."]
    return [*shortened[:index], "...", *shortened[index:]]


def swap_digits(fingerprint: str, group: int) -> str:
    groups = fingerprint.split()
    g = groups[group]
    groups[group] = g[:3] + g[4] + g[3]
    return " ".join(groups)


def story(rec: Recorder, base: Path, server_url: str) -> dict[str, str]:
    def device(name: str, user: str, passphrase: str = "") -> Device:
        folder = base / name
        folder.mkdir()
        return Device(name, user, folder, server_url, passphrase or PASSPHRASES.get(user, ""))

    laptop = device("anna-laptop", "anna")
    tablet = device("anna-tablet", "anna")
    phone = device("anna-phone", "anna")
    wierda = device("wierda", "bouwbedrijf-wierda")
    gemeente = device("gemeente", "gemeente-groningen")
    els = device("els", "els.gemeente")
    stranger = device("stranger", "anna", "geraden wachtwoord nummer een")
    operator = Device("operator", "", base, server_url)

    (laptop.folder / "schaderapport.pdf").write_bytes(
        b"%PDF-1.4\nSchaderapport Hoofdstraat 12, Loppersum\nScheur in de voorgevel, 4 mm.\n"
    )
    (laptop.folder / "foto-gevel.jpg").write_bytes(os.urandom(300_000))
    (laptop.folder / "brief-img.txt").write_text(
        "IMG: uw schademelding is ontvangen (kenmerk 2026-0412).\n", encoding="utf-8"
    )
    (laptop.folder / "scans").mkdir()
    (wierda.folder / "offerte-herstel.pdf").write_bytes(
        b"%PDF-1.4\nOfferte herstel voorgevel: EUR 4.850\n"
    )

    # -- section 1 -----------------------------------------------------------------------------
    rec.run("server-address", laptop, "whoami", "--server", "127.0.0.1:8000")
    rec.run("org-name-typo", els, "org", "create", "NC G", "--kind", "institution")

    # -- section 2: anna registers, the rule refuses two passphrases first -----------------------
    anna_pass = PASSPHRASES["anna"] + "\n"
    screen = rec.typed(
        None,
        laptop,
        ["register", "anna", "--display-name", "Anna de Boer"],
        [
            ("Choose a passphrase", "kort\n"),
            ("Choose a passphrase", "Groningen2024!\n"),
            ("Choose a passphrase", anna_pass),
            ("Repeat for confirmation", anna_pass),
        ],
    )
    lines = screen.splitlines()
    refused = [i for i, line in enumerate(lines) if line.startswith("passphrase refused")]
    rec.note("passphrase-refused", *lines[refused[0] - 1 : refused[-1] + 1])
    shown = [*lines[: refused[0] - 1], *lines[refused[-1] + 1 :]]
    rec.add("register-anna", ["$ kluis register anna --display-name 'Anna de Boer'"])
    rec.add("register-anna", shorten_code(shown, keep_all=True))
    anna_code = " ".join(recovery_rows(screen))
    rec.run("whoami-anna", laptop, "whoami")

    # -- section 3: a second device ----------------------------------------------------------
    rec.typed("login-tablet", tablet, ["login", "anna"], [("Passphrase", anna_pass)])
    rec.typed("login-wrong", phone, ["login", "anna"], [("Passphrase", "zeven kraaien\n")])

    # -- section 4: a dossier and its documents ------------------------------------------------
    hoofdstraat = rec.run("dossier-add", laptop, "dossier", "create", "Schade Hoofdstraat 12")
    hoofdstraat = hoofdstraat.strip()
    rec.run(
        "dossier-add",
        laptop,
        "add",
        "Schade Hoofdstraat",
        "schaderapport.pdf",
        "foto-gevel.jpg",
        "brief-img.txt",
    )
    short = hoofdstraat[:6]
    rec.run("ambiguous", laptop, "dossier", "create", "Schade Kerkstraat 3")
    rec.run("ambiguous", laptop, "ls", "schade")
    rec.run("add-twice", laptop, "add", "Schade Hoofdstraat", "schaderapport.pdf")
    rec.run("add-checked", laptop, "add", short, "schaderapport.pdf", "brief.pdf")
    rec.run("add-checked", laptop, "add", short, "scans")
    rec.run("ls", laptop, "dossier", "list")
    rec.run("ls", laptop, "ls", "schade hoofdstraat 12")
    rec.run("get-tablet", tablet, "get", "schaderapport.pdf", "-o", "downloads/")
    report = json_ids(laptop, hoofdstraat)["schaderapport.pdf"]
    photo = json_ids(laptop, hoofdstraat)["foto-gevel.jpg"]
    (laptop.folder / "schaderapport.pdf").write_bytes(
        b"%PDF-1.4\nSchaderapport Hoofdstraat 12, Loppersum (herzien)\n"
        b"Scheur in de voorgevel, 6 mm; ook de schoorsteen.\n"
    )
    shutil.copy(laptop.folder / "schaderapport.pdf", tablet.folder / "schaderapport.pdf")
    rec.run("versions", tablet, "update", report[:6], "schaderapport.pdf")
    rec.run("versions", tablet, "get", report[:6], "-o", "downloads/")
    rec.run("versions", tablet, "get", report[:6], "-o", "downloads/", "--force")
    rec.run(
        "versions",
        tablet,
        "get",
        report[:6],
        "--version",
        "1",
        "-o",
        "downloads/schaderapport-v1.pdf",
    )

    # -- section 5: fingerprints -------------------------------------------------------------
    screen = rec.typed(
        None,
        wierda,
        ["register", "bouwbedrijf-wierda", "--display-name", "Bouwbedrijf Wierda, Appingedam"],
        [("Choose a passphrase", "\n")],
    )
    wierda.passphrase = generated_passphrase(screen)
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Your new PASSPHRASE"))
    rec.note("generated-passphrase", *lines[start : start + 3])
    rec.add(
        "register-wierda",
        [
            "$ kluis register bouwbedrijf-wierda --display-name 'Bouwbedrijf Wierda, Appingedam'",
            *shorten_code(lines, keep_all=False),
        ],
    )
    rec.run("register-wierda", wierda, "whoami")
    fingerprint = rec.run(None, wierda, "whoami").splitlines()[1].split(": ")[1]
    rec.run("fingerprint", laptop, "fingerprint", "bouwbedrijf-wierda")
    wrong = "12345 " + fingerprint.split(" ", 1)[1]
    rec.run("verify-wrong", laptop, "verify", "bouwbedrijf-wierda", wrong)
    rec.run("verify-right", laptop, "verify", "bouwbedrijf-wierda", fingerprint)
    rec.run("verify-right", laptop, "fingerprint", "bouwbedrijf-wierda")

    # -- section 6: sharing --------------------------------------------------------------------
    rec.run(
        "share-wierda", laptop, "share", short, "bouwbedrijf-wierda", "--write", "--expires", "30d"
    )
    anna_fingerprint = rec.run(None, laptop, "whoami").splitlines()[1].split(": ")[1]
    rec.run("wierda-reads", wierda, "shared")
    rec.run("wierda-reads", wierda, "verify", "anna", anna_fingerprint)
    rec.run("wierda-reads", wierda, "get", "schaderapport.pdf", "-o", "wierda-map/")
    rec.run("wierda-reads", wierda, "add", "Schade Hoofdstraat 12", "offerte-herstel.pdf")
    rec.run("anna-adopts", laptop, "ls", short)
    gemeente_screen = rec.typed(
        None,
        gemeente,
        ["register", "gemeente-groningen"],
        [
            ("Choose a passphrase", PASSPHRASES["gemeente-groningen"] + "\n"),
            ("Repeat for confirmation", PASSPHRASES["gemeente-groningen"] + "\n"),
        ],
    )
    rec.add(
        "share-gemeente",
        [
            "$ kluis register gemeente-groningen",
            *shorten_code(gemeente_screen.splitlines(), keep_all=False)[2:],
        ],
    )
    rec.run(
        "share-gemeente",
        laptop,
        "share",
        "schaderapport.pdf",
        "gemeente-groningen",
        "--expires",
        "2027-01-31",
    )
    rec.run("gemeente-reads", gemeente, "shared")
    rec.run("gemeente-reads", gemeente, "get", report[:6], "-o", "rapport-anna.pdf")
    rec.run("gemeente-reads", gemeente, "ls", short)

    (laptop.folder / "schaderapport.pdf").write_bytes(
        b"%PDF-1.4\nSchaderapport Hoofdstraat 12, Loppersum (aanvulling)\n"
        b"Scheur in de voorgevel, 6 mm; ook de schoorsteen en de achtergevel.\n"
    )
    rec.run("newer-not-shared", laptop, "update", report[:6], "schaderapport.pdf")
    rec.run("newer-not-shared", gemeente, "get", report[:6], "-o", "rapport-anna.pdf", "--force")
    rec.run("newer-not-shared", gemeente, "get", report[:6], "--version", "3")

    # Unconfirmed: Wierda's second offerte, before Anna's device has seen it.
    offerte = json_ids(laptop, hoofdstraat)["offerte-herstel.pdf"]
    (wierda.folder / "offerte-herstel.pdf").write_bytes(
        b"%PDF-1.4\nOfferte herstel voorgevel en schoorsteen: EUR 6.120\n"
    )
    rec.run(None, wierda, "update", offerte[:6], "offerte-herstel.pdf")
    rec.run("unconfirmed", wierda, "get", offerte[:6], "-o", "offerte.pdf")
    rec.run(
        "unconfirmed-open",
        wierda,
        "get",
        offerte[:6],
        "--version",
        "2",
        "--unconfirmed",
        "-o",
        "misschien.pdf",
    )

    # -- organisations: gemeente-mg, verified by the operator (section 1's example) --------------
    els_screen = rec.typed(
        None,
        els,
        ["register", "els.gemeente"],
        [
            ("Choose a passphrase", PASSPHRASES["els.gemeente"] + "\n"),
            ("Repeat for confirmation", PASSPHRASES["els.gemeente"] + "\n"),
        ],
    )
    assert "created" in els_screen, els_screen
    created = rec.run(None, els, "org", "create", "gemeente-mg", "--kind", "municipality")
    org_fingerprint = next(
        line.split(": ")[1] for line in created.splitlines() if line.startswith("fingerprint:")
    )
    rec.run(
        "verify-org",
        operator,
        "server",
        "admin",
        "verify-org",
        "gemeente-mg",
        "--fingerprint",
        swap_digits(org_fingerprint, 7),
    )
    rec.run(
        "verify-org",
        operator,
        "server",
        "admin",
        "verify-org",
        "gemeente-mg",
        "--fingerprint",
        org_fingerprint,
    )

    # -- section 7: taking access away ---------------------------------------------------------
    rec.run("revoke", laptop, "revoke", short, "bouwbedrijf-wierda")
    rec.run("revoked", wierda, "shared")
    rec.run("revoked", wierda, "ls", "Schade Hoofdstraat 12")
    rec.run("revoked", wierda, "get", "foto-gevel.jpg", "-o", "wierda-map/")
    rec.add(
        "revoked",
        ["$ ls wierda-map", *sorted(p.name for p in (wierda.folder / "wierda-map").iterdir())],
    )
    rec.run("revoke-refused", laptop, "revoke", short, "bouwbedrijf-wierda")
    rec.run("revoke-refused", laptop, "share", report[:6], "@gemeente-mg")
    rec.run("revoke-refused", laptop, "revoke", report[:6], "els.gemeente")
    rec.run("revoke-document", laptop, "revoke", report[:6], "gemeente-groningen")

    # -- section 8: the log --------------------------------------------------------------------
    rec.run("log", laptop, "log", "Schade Hoofdstraat 12")

    # -- section 9: export ---------------------------------------------------------------------
    export_pass = EXPORT_PASSPHRASE + "\n"
    rec.typed(
        "export",
        laptop,
        ["export", short, "-o", "mijn-dossier"],
        [
            ("Passphrase to protect", export_pass),
            ("Repeat for confirmation", export_pass),
        ],
    )
    rec.add(
        "export",
        ["$ ls mijn-dossier", "  ".join(sorted(os.listdir(laptop.folder / "mijn-dossier")))],
    )
    rec.typed(
        "open-export",
        Device("export", "", laptop.folder / "mijn-dossier", server_url),
        [],
        [("Enter passphrase", export_pass)],
        program=["/bin/sh", "open.sh"],
    )
    rec.blocks["open-export"][0] = "$ cd mijn-dossier\n$ sh open.sh"
    opened = laptop.folder / "mijn-dossier" / "opened"
    latest = sorted(p.name for p in opened.iterdir() if p.name.startswith("schaderapport"))[-1]
    rec.add("open-export", [f"$ cat opened/{latest}", *(opened / latest).read_text().splitlines()])
    rec.run(
        "export-not-empty",
        laptop,
        "export",
        short,
        "-o",
        "mijn-dossier",
        env={"KLUIS_EXPORT_PASSPHRASE": EXPORT_PASSPHRASE},
    )

    # -- section 10: passphrase and recovery ---------------------------------------------------
    new = ANNA_NEW + "\n"
    rec.typed(
        "passwd",
        laptop,
        ["passwd"],
        [
            ("Current passphrase", anna_pass),
            ("New passphrase", new),
            ("Repeat for confirmation", new),
        ],
    )
    rec.typed("phone-login", phone, ["login", "anna"], [("Passphrase", anna_pass)])
    rec.typed("phone-login", phone, ["login", "anna"], [("Passphrase", new)])
    words = anna_code.split()
    typo = [w for w in words if not w.isdigit()]
    typo[15] = typo[15] + "x"
    rec.typed(
        "recover",
        tablet,
        ["recover", "anna"],
        [("Recovery code", " ".join(typo) + "\n")],
    )
    newer = "weer binnen met vierentwintig woorden op papier\n"
    rec.typed(
        "recover",
        tablet,
        ["recover", "anna"],
        [
            ("Recovery code", anna_code + "\n"),
            ("New passphrase", newer),
            ("Repeat for confirmation", newer),
        ],
    )
    rec.run("logged-out", phone, "ls", short)

    # -- section 11: a changed byte ------------------------------------------------------------
    blobs = sorted((base / "data" / "blobs").rglob("*"), key=lambda p: p.stat().st_size)
    photo_blob = [p for p in blobs if p.is_file()][-1]  # the photo is the largest payload
    data = bytearray(photo_blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    photo_blob.write_bytes(bytes(data))
    tablet.passphrase = newer.strip()
    rec.run(None, tablet, "login", "anna")
    (tablet.folder / "dl").mkdir()
    result = rec.run("tampered", tablet, "get", photo[:6], "-o", "dl/")
    assert "SECURITY CHECK FAILED" in result, result
    rec.add("tampered", ["$ echo $?", "3", "$ ls -A dl/", *os.listdir(tablet.folder / "dl")])

    # -- section 3 again, last: a stranger's guesses keep a new device waiting -----------------
    for _ in range(10):
        rec.run(None, stranger, "login", "anna")
    fresh = device("anna-new-phone", "anna", newer.strip())
    rec.typed("login-throttled", fresh, ["login", "anna"], [("Passphrase", newer)])
    return {"dossier": hoofdstraat, "report": report, "photo": photo, "offerte": offerte}


def generated_passphrase(screen: str) -> str:
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Your new PASSPHRASE"))
    return lines[start + 2].strip()


def json_ids(device: Device, dossier: str) -> dict[str, str]:
    import json

    listing = subprocess.run(
        [KLUIS, "ls", dossier, "--json"],
        cwd=device.folder,
        env=device.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row["name"]: row["id"] for row in json.loads(listing)}


def apply(blocks: dict[str, list[str]]) -> None:
    """Replace the indented block after each `<!-- recorded: NAME -->` line of the guide."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    used: set[str] = set()
    i = 0
    while i < len(lines):
        out.append(lines[i])
        marker = MARKER.match(lines[i])
        i += 1
        if not marker:
            continue
        name = marker.group(1)
        if name not in blocks:
            raise SystemExit(f"docs/user-guide.md names a block {name!r} this run did not record")
        used.add(name)
        out.append("")
        while i < len(lines) and not lines[i].strip():
            i += 1
        while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
            if not lines[i].strip() and (
                i + 1 >= len(lines) or not lines[i + 1].startswith("    ")
            ):
                break
            i += 1
        out.extend(f"    {line}".rstrip() for line in flat(blocks[name]))
    GUIDE.write_text("\n".join(out) + "\n", encoding="utf-8")
    unused = set(blocks) - used
    if unused:
        print(f"recorded but not in the guide: {', '.join(sorted(unused))}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apply", action="store_true", help="rewrite docs/user-guide.md")
    args = parser.parse_args()
    rec = Recorder()
    with tempfile.TemporaryDirectory(prefix="kluis-guide-") as tmp:
        base = Path(tmp)
        port = free_port(8000)
        argv = [KLUIS, "server", "--host", "127.0.0.1", "--port", str(port), "--data-dir", "./data"]
        log = (base / "server.log").open("w")
        server = subprocess.Popen(argv, cwd=base, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url)
            # What the server prints before it answers: its log key, then where it listens.
            said = (base / "server.log").read_text().splitlines()
            start = [line for line in said if line.startswith(("Kluis log key", "Kluis server"))]
            rec.add("server", [f"$ {shlex.join(['kluis', *argv[1:]])}", *start])
            ids = story(rec, base, url)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    for name, lines in rec.blocks.items():
        print(f"<!-- recorded: {name} -->")
        print("\n".join(f"    {line}".rstrip() for line in flat(lines)))
        print()
    if args.apply:
        apply(rec.blocks)
    print(f"ids of this run (for the guide's prose): {ids}", file=sys.stderr)


if __name__ == "__main__":
    main()
