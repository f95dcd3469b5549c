"""Running a Kluis server process on this machine: for `kluis demo`, tests and benchmarks.

The client never imports the server's code; it starts `python -m server` as a separate
program, exactly as `kluis server` does, on a port the operating system picks.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

READY = re.compile(r"Kluis server listening on (http://\S+)")
START_TIMEOUT = 30.0


class LocalServer:
    """One `python -m server` process and its data directory, on a free loopback port."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = dict(env or {})
        self.host = "127.0.0.1"
        self.port = 0  # chosen by the OS on first start, then kept across restarts
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self._log_offset = 0

    # -- where it is ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "kluis.db"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> LocalServer:
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "server",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the Kluis server exited with {self.process.returncode}:\n{self.log()}"
                )
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                match = READY.search(fh.read().decode(errors="replace"))
            if match:
                self.port = int(match.group(1).rsplit(":", 1)[1])
                try:
                    if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the Kluis server did not become ready in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM); SIGKILL if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as in a crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self, timeout: float = START_TIMEOUT) -> LocalServer:
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
