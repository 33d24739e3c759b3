"""Start `python app.py` in a subprocess and wait until it serves: for the server and browser tests."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from pathgan.paths import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """A running app; use as a context manager so the server always stops."""

    def __init__(self, args: list[str] = (), env: dict | None = None, port: int | None = None, log_path: str | Path | None = None,
                 timeout: float = 120):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = Path(log_path) if log_path else None
        # The app's study database and fine-tune folder go to a folder of its own unless a test names them, so a test
        # never writes into the checkout's runs/ nor meets jobs left there.
        self._scratch = tempfile.mkdtemp(prefix="pathgan-app-test-")
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
                    "PATHGAN_STUDY_DB": os.path.join(self._scratch, "studies.sqlite"),
                    "PATHGAN_FINETUNE_DIR": os.path.join(self._scratch, "finetuned"), **(env or {})}
        if "--port" not in args:
            full_env.setdefault("GRADIO_SERVER_PORT", str(self.port))
        self._log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "app.py"), *args], cwd=PROJECT_ROOT, env=full_env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"app.py exited with code {self.proc.returncode} before serving; log:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"app.py did not serve {self.url} within {timeout:.0f} s; log:\n{self.log()}")

    def log(self, tail: int | None = 4000) -> str:
        if self.log_path and self.log_path.exists():
            text = self.log_path.read_text(errors="replace")
            return text[-tail:] if tail else text
        return "(no log kept)"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> "AppProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
