"""Checks of a raw HTTP/1.1 request head (request line and header fields) before a lenient
parser sees it. h11 unfolds obs-fold lines, accepts bare-LF line ends and parses a request
carrying both Content-Length and Transfer-Encoding as chunked; a proxy in front of the server
may frame such a request differently, which is how a second request is smuggled through.
RFC 9112 lets a server reject all three (sections 2.2, 5.2, 6.1); acrctl does, and closes
the connection. (httptools' llhttp parser already rejects them itself.)"""

from __future__ import annotations

Problem = tuple[int, str, str]  # (HTTP status, error code, message)

END = b"\r\n\r\n"
CRLF = b"\r\n"
INVALID = "InvalidHttpRequest"


def check_head(data: bytes, max_bytes: int) -> Problem | None:
    """A problem with the request head at the start of `data` (which may be incomplete and
    may continue with the body), or None. Lines of an incomplete head are checked as they
    arrive, so a client cannot hold a refused head open."""
    start = _skip_empty_lines(data)
    end = data.find(END, start)
    head = data[start:] if end < 0 else data[start : end + len(CRLF)]
    if len(head) > max_bytes:
        return (
            431,
            "RequestHeaderFieldsTooLarge",
            f"The request header is larger than {max_bytes} bytes.",
        )
    if head.count(b"\n") != head.count(CRLF):
        return (
            400,
            INVALID,
            "A line of the request header ends in a bare LF; header lines "
            "must end in CRLF (RFC 9112, section 2.2).",
        )
    if b"\n " in head or b"\n\t" in head:
        return (
            400,
            INVALID,
            "The request header uses obsolete line folding (a line that "
            "starts with whitespace; RFC 9112, section 5.2).",
        )
    if end >= 0 and _has_both_lengths(head):
        return (
            400,
            INVALID,
            "The request has both Content-Length and Transfer-Encoding "
            "headers (RFC 9112, section 6.1).",
        )
    return None


def _skip_empty_lines(data: bytes) -> int:
    pos = 0
    while data.startswith(CRLF, pos):
        pos += len(CRLF)
    return pos


def _has_both_lengths(head: bytes) -> bool:
    lower = head.lower()
    if b"content-length" not in lower or b"transfer-encoding" not in lower:
        return False  # the common case: no need to split the lines
    names = {line.partition(b":")[0].strip() for line in lower.split(CRLF)[1:]}
    return b"content-length" in names and b"transfer-encoding" in names
