"""Request ids (x-ms-request-id): unique GUIDs that cost a string concatenation each.

uuid.uuid4() reads 16 bytes from the OS for every id (~18k instructions, a system call, per
request). Here each process draws 74 random bits once (again in a forked child) and numbers
its requests: an id is those bits and a 48-bit counter, laid out as a version-4 GUID
(version nibble 4, variant bits 10), `rrrrrrrr-rrrr-4rrr-Vrrr-cccccccccccc`.

Why the ids stay unique:

* within a process: the counter never repeats under one random part; when it would pass
  2**48, new random bits are drawn (the random part and its counter are swapped together,
  so an id never pairs a counter value with another part's bits);
* across processes and server instances: two ids are equal only when their processes drew
  the same 74 bits. For n processes ever started the chance of any such pair is below
  n**2 / 2**75 (birthday bound): about 3e-11 for a million processes. uuid4's own 122 bits
  make a comparable bound per id rather than per process.

They are not secrets (uuid4's were not either: request ids are echoed in answers and logs)."""

from __future__ import annotations

import itertools
import os
import threading

COUNTER_BITS = 48
RANDOM_BITS = 74


def _prefix(bits: int) -> str:
    """The GUID text before its last group, from RANDOM_BITS random bits."""
    time_low = bits >> 42  # 32 bits
    time_mid = (bits >> 26) & 0xFFFF  # 16 bits
    time_hi = (bits >> 14) & 0xFFF  # 12 bits after the version nibble
    clock_seq = bits & 0x3FFF  # 14 bits after the variant bits
    return f"{time_low:08x}-{time_mid:04x}-4{time_hi:03x}-{0x8000 | clock_seq:04x}-"


def _fresh() -> tuple[str, itertools.count[int]]:
    """New random bits and a counter from 0."""
    bits = int.from_bytes(os.urandom(10), "big") >> (80 - RANDOM_BITS)
    return _prefix(bits), itertools.count()


_lock = threading.Lock()
_state = _fresh()


def _after_fork() -> None:  # a forked child must not continue its parent's numbering
    global _state, _lock
    _lock = threading.Lock()
    _state = _fresh()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def new_request_id() -> str:
    """A GUID unique among every id of every process (see the module docstring)."""
    global _state
    prefix, counter = _state  # one read: the counter belongs to this prefix
    n = next(counter)  # atomic under the GIL
    if n >> COUNTER_BITS:  # after 2**48 ids: practically never
        with _lock:
            if _state[1] is counter:
                _state = _fresh()
        return new_request_id()
    return f"{prefix}{n:012x}"
