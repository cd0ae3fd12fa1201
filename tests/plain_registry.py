"""A plain CNCF distribution (`docker-registry`) on loopback for tests: no auth, or
htpasswd basic auth (user `puller`, password `import-pass-31`)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

USER, PASSWORD = "puller", "import-pass-31"
# bcrypt (cost 5) of PASSWORD
HTPASSWD = f"{USER}:$2b$05$tEc3FzSVpgPoU3577NULbOQ/XiUEyCLgJFynI59QvYrN6a1B7jsLq\n"
START_TIMEOUT = 30.0


@contextmanager
def plain_registry(root: Path, port: int, basic: bool = False) -> Iterator[str]:
    """Run one; yields its `127.0.0.1:<port>`."""
    root.mkdir(parents=True, exist_ok=True)
    auth = ""
    if basic:
        (root / "htpasswd").write_text(HTPASSWD)
        auth = f"auth:\n  htpasswd:\n    realm: plain\n    path: {root / 'htpasswd'}\n"
    (root / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(root / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    hostport = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(hostport):
            assert proc.poll() is None, "docker-registry exited"
            assert time.monotonic() < deadline, "docker-registry did not answer"
            time.sleep(0.05)
        yield hostport
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(hostport: str) -> bool:
    try:
        return httpx.get(f"http://{hostport}/v2/", timeout=2).status_code in (200, 401)
    except httpx.HTTPError:
        return False
