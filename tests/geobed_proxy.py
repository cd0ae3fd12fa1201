"""A TCP delay proxy for the geo test bed (stdlib asyncio, one process per region pair).

    python geobed_proxy.py LISTEN_HOST LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT ONE_WAY_MS

Every chunk read in either direction is written out ONE_WAY_MS after it was read, in order;
a new connection pays one round trip (2 x ONE_WAY_MS) before its first byte goes through, as
a TCP handshake over that link would. At most 4 MiB is in flight per direction (the reader
waits). Delay per chunk, not per packet: no loss, reordering or congestion window. It prints
`ready` once listening."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

IN_FLIGHT = 4 << 20
CHUNK = 65536


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    room = asyncio.Semaphore(IN_FLIGHT // CHUNK)

    async def release() -> None:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()
            room.release()

    sender = asyncio.create_task(release())
    try:
        while True:
            await room.acquire()
            data = await reader.read(CHUNK)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
        writer.close()


def handler(
    up_host: str, up_port: int, delay: float
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2 * delay)
        try:
            ur, uw = await asyncio.open_connection(up_host, up_port)
        except OSError:
            w.close()
            return
        await asyncio.gather(pump(r, uw, delay), pump(ur, w, delay), return_exceptions=True)

    return handle


async def main() -> None:
    host, port, up_host, up_port, ms = sys.argv[1:6]
    server = await asyncio.start_server(
        handler(up_host, int(up_port), float(ms) / 1000.0), host, int(port)
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
