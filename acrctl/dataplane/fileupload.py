"""A blob upload finished with one PUT whose body is sent from a file by the kernel
(sendfile(2)): the replication engine's path when the source region's storage is on this
machine (a supervised region, DataPlane.data_root). No byte passes through Python and the
source registry does no work; the target registry receives and checks the blob (the digest
in the PUT) as from any client. Plain HTTP targets only: a TLS socket cannot sendfile."""

from __future__ import annotations

import http.client
import os
from urllib.parse import urlsplit

# what is kept of a refused PUT's answer for the error message
ANSWER_KEPT = 200


class UploadError(Exception):
    """The PUT did not complete (a short send, a refused answer)."""


def sendable(url: str) -> bool:
    """Whether an upload to `url` can be sent from a file (plain HTTP)."""
    return url.startswith("http://")


def put_file(url: str, headers: dict[str, str], path: str, timeout: float) -> int:
    """PUT `path`'s content to `url` (an upload location with its `digest` query) and
    return the bytes sent; UploadError unless the registry answers 201."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            conn.putrequest("PUT", target, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Type", "application/octet-stream")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            assert conn.sock is not None  # endheaders() connected it
            sent = conn.sock.sendfile(fh)
        if sent != size:
            raise UploadError(f"sent {sent} of {size} bytes")
        resp = conn.getresponse()
        answer = resp.read(ANSWER_KEPT)
        if resp.status != 201:
            raise UploadError(f"{resp.status} {answer.decode('utf-8', 'replace')}")
        return size
    finally:
        conn.close()
