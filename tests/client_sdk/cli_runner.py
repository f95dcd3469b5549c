"""Run the real `kluis` command line as a subprocess, as a person (or a script) would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

KLUIS = str(Path(sys.executable).with_name("kluis"))


@dataclass
class Person:
    """One user on one device: a profile directory and a passphrase."""

    server: str
    profile: Path
    passphrase: str

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            **os.environ,
            "KLUIS_SERVER": self.server,
            "KLUIS_PROFILE": str(self.profile),
            "KLUIS_PASSPHRASE": self.passphrase,
            "COLUMNS": "200",
            **(env or {}),
        }
        return subprocess.run(
            [KLUIS, *args],
            capture_output=True,
            text=True,
            env=full_env,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout
