"""`uvicorn` with its command line unchanged, except that the listening socket it binds for
`--workers N` is tagged IPPROTO_TCP, as the fix of uvicorn issue #3149 does.

Stock uvicorn (0.54 here) binds that socket with proto 0; accepted connections inherit it,
and asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP. With Nagle's algorithm on,
a response written as headers then body waits for the client's delayed ACK: every
keep-alive request past the first costs ~40 ms on Linux (measured here: 22 req/s on one
connection, 44 ms p50). The single-process path (no --workers) is not affected. The
benchmarks start multi-worker servers through this script so that they measure acrctl,
not the bug:

    python benchmarks/uvicorn_nodelay.py --factory acrctl.server.factory:app --workers 2"""

from __future__ import annotations

import socket
import sys

import uvicorn.config
import uvicorn.main

_bind_socket = uvicorn.config.Config.bind_socket


def bind_socket(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    uvicorn.config.Config.bind_socket = bind_socket  # type: ignore[method-assign]
    sys.exit(uvicorn.main.main())
