"""The embedded mode's background webhook sender.

The embedded mode has no server and so no delivery worker: the command that queued an event
(`webhook ping`, `webhook redeliver`; `webhook list-events` looks too) sends what is due
before it exits and, when retries remain, starts this agent, a detached child process:

    python -m acrctl.delivery_agent --state FILE

It sends each pending event as its backoff comes due, through the outbox's claims (a
compare-and-set under a lease, as a server's worker claims: an `acrctl server` on the same
state file never sends an event the agent sends), and exits when nothing is pending, or
after webhook_agent_lifetime seconds whatever is left (the next command that queues or lists
events starts a new agent). At most one agent runs per state file: it holds an exclusive lock
on FILE.delivery.lock (its pid inside) while it works. What it says goes to FILE.delivery.log
(rotated at webhook_agent_log_bytes), never to a terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no background sender (see ensure_running)
    fcntl = None  # type: ignore[assignment]

from acrctl.backend.core import Settings

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.delivery import Deliverer

log = logging.getLogger("acrctl.delivery_agent")

MAX_NAP = 5.0  # seconds between looks at the outbox while nothing is due sooner
STUCK_NAP = 1.0  # when something is due but nothing could be claimed (e.g. its hook is going)


def lock_path(state: str) -> str:
    return os.path.abspath(state) + ".delivery.lock"


def log_path(state: str) -> str:
    return os.path.abspath(state) + ".delivery.log"


# -- the lock ---------------------------------------------------------------------------------
class StateLock:
    """An exclusive, non-blocking lock on `lock_path(state)`. The OS drops it when its holder
    exits, however it exits. `fd`: a descriptor of the file already locked (a handed-over
    lock)."""

    def __init__(self, state: str, fd: int | None = None) -> None:
        self.path = lock_path(state)
        self.fd = fd if fd is not None else os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held = fd is not None

    def acquire(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        self.held = True
        return True

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def write_pid(self, pid: int) -> None:
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{pid}\n".encode(), 0)

    def close(self) -> None:
        os.close(self.fd)


def running_pid(state: str) -> int | None:
    """The pid of the agent working on `state` (None: none runs)."""
    if not os.path.exists(lock_path(state)):
        return None
    lock = StateLock(state)
    try:
        if lock.acquire():
            lock.release()
            return None
        text = os.pread(lock.fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    finally:
        lock.close()


# -- starting one -----------------------------------------------------------------------------
def ensure_running(backend: Backend, state: str) -> int | None:
    """Start an agent for the state file `state` when something is pending and no agent runs
    yet. Call it after the events are committed: a running agent looks once more after it
    lets go of the lock, so it sees them. Returns the new agent's pid (None: none started)."""
    if fcntl is None or backend.webhooks.next_due() is None:
        return None  # without fcntl (Windows) retries wait for the next command
    try:
        lock = StateLock(state)
    except OSError:
        return None  # no lock file, no agent (the next command tries again)
    try:
        if not lock.acquire():
            return None  # an agent runs and will see the new work
        pid = _spawn(state, agent_settings(backend), lock)
        if pid is not None:
            lock.write_pid(pid)
        return pid
    finally:
        lock.close()  # a started agent holds the same lock through its own descriptor


def agent_settings(backend: Backend) -> dict[str, Any]:
    """The webhook settings of `backend` that differ from the defaults: the agent takes
    them on."""
    defaults = Settings()
    return {
        key: getattr(backend.settings, key)
        for key in webhook_fields()
        if getattr(backend.settings, key) != getattr(defaults, key)
    }


def webhook_fields() -> list[str]:
    """The Settings fields an agent takes from the command that starts it."""
    return [f.name for f in dataclasses.fields(Settings) if f.name.startswith("webhook_")]


def _spawn(state: str, settings: dict[str, Any], lock: StateLock) -> int | None:
    cmd = [sys.executable, "-m", "acrctl.delivery_agent", "--state", os.path.abspath(state)]
    if settings:
        cmd += ["--settings", json.dumps(settings)]
    cmd += ["--lock-fd", str(lock.fd)]  # the child holds the lock from its first moment
    try:
        with open(log_path(state), "ab") as err:  # a crash before logging starts lands here
            child = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                pass_fds=(lock.fd,),
                start_new_session=True,
                cwd=os.path.dirname(os.path.abspath(state)),
            )
    except OSError:
        return None
    # waited for by a daemon thread: an agent that ends before this process does is reaped
    # (no zombie), and its Popen is never dropped while it runs (ResourceWarning)
    threading.Thread(target=child.wait, name="acrctl-agent-reaper", daemon=True).start()
    return child.pid


# -- the agent --------------------------------------------------------------------------------
def run(backend: Backend, lock: StateLock, stop: threading.Event) -> str:
    """Send due events until nothing is pending, the lifetime runs out or `stop` is set.
    Lets go of the lock before it returns. Returns why it stopped."""
    from acrctl.delivery import Deliverer

    deadline = time.monotonic() + backend.settings.webhook_agent_lifetime
    deliverer = Deliverer(backend, local_default=True)
    why = "stopped"
    while not stop.is_set():
        if time.monotonic() >= deadline:
            why = "lifetime reached"
            break
        if _round(backend, deliverer, deadline, stop):
            continue
        lock.release()  # then one more look: a command that saw the lock held queued work
        if backend.webhooks.next_due() is None:
            why = "nothing pending"
            break
        if not lock.acquire():
            why = "another agent took over"
            break
    deliverer.wait(deliverer.timeout)  # let attempts in flight be recorded
    lock.release()
    return why


def _round(backend: Backend, deliverer: Deliverer, deadline: float, stop: threading.Event) -> bool:
    """Claim and start what is due, then wait until something may be due. False when
    nothing is pending and nothing is in flight."""
    started = deliverer.run_once(force=True)
    due = backend.webhooks.next_due()
    if due is None and not deliverer.inflight:
        return False
    nap = MAX_NAP if due is None else due - backend.clock.now()
    if due is not None and nap <= 0 and not started and not deliverer.inflight:
        nap = STUCK_NAP  # due, yet nothing could be claimed: do not spin
    nap = max(0.01, min(nap, MAX_NAP, deadline - time.monotonic()))
    if deliverer.inflight:
        deliverer.wait(nap)
    else:
        stop.wait(nap)
    return True


def _logging(state: str, max_bytes: float) -> None:
    handler = logging.handlers.RotatingFileHandler(
        log_path(state), maxBytes=int(max_bytes), backupCount=1, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _settings(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    known = webhook_fields()
    return {k: v for k, v in value.items() if k in known} if isinstance(value, dict) else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m acrctl.delivery_agent",
        description="Send the embedded state's pending webhook events as they come due, then exit.",
    )
    parser.add_argument("--state", required=True, help="the embedded state file")
    parser.add_argument("--settings", default="{}", help="webhook settings, a JSON object")
    parser.add_argument("--lock-fd", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = Settings(**_settings(args.settings))
    _logging(args.state, settings.webhook_agent_log_bytes)
    if fcntl is None:  # pragma: no cover - Windows
        log.info("no background delivery on this platform; exiting")
        return 0
    lock = StateLock(args.state, args.lock_fd)
    if not lock.held and not lock.acquire():
        log.info("another delivery agent works on this state file; exiting")
        return 0
    lock.write_pid(os.getpid())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        backend = _backend(args.state, settings)
        log.info("delivery agent started")
        log.info("delivery agent exiting: %s", run(backend, lock, stop))
    except Exception:
        log.exception("delivery agent failed")
        return 1
    return 0


def _backend(state: str, settings: Settings) -> Backend:
    from acrctl.backend.core import Backend
    from acrctl.statefile import ReadOnlyStore, open_store

    store = open_store(state)
    if isinstance(store, ReadOnlyStore):
        raise RuntimeError("the state file is read-only")
    return Backend(store, settings=settings)


if __name__ == "__main__":
    sys.exit(main())
