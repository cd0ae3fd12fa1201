"""The replication engine's upload from a file (acrctl.dataplane.fileupload): the body is the
file's bytes with their Content-Length, a refused PUT is an error naming the answer, and only
plain HTTP targets take it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from acrctl.dataplane.fileupload import UploadError, put_file, sendable


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, bytes, str]] = []
    status = 201

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.path, body, self.headers["Authorization"]))
        self.send_response(Receiver.status)
        answer = b'{"errors":[{"code":"DIGEST_INVALID"}]}' if Receiver.status != 201 else b""
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.status = [], 201
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_body_is_the_files_bytes(receiver: str, tmp_path: Path) -> None:
    blob = tmp_path / "data"
    blob.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    url = f"{receiver}/v2/r/blobs/uploads/u1?_state=x&digest=sha256:ab"
    sent = put_file(url, {"Authorization": "Bearer t"}, str(blob), timeout=10)
    assert sent == 1024 * 1024
    assert Receiver.received == [
        ("/v2/r/blobs/uploads/u1?_state=x&digest=sha256:ab", blob.read_bytes(), "Bearer t")
    ]


def test_a_refused_put_names_the_answer(receiver: str, tmp_path: Path) -> None:
    Receiver.status = 400
    blob = tmp_path / "data"
    blob.write_bytes(b"x" * 10)
    with pytest.raises(UploadError) as err:
        put_file(f"{receiver}/v2/r/blobs/uploads/u1?digest=sha256:ab", {}, str(blob), 10)
    assert str(err.value) == '400 {"errors":[{"code":"DIGEST_INVALID"}]}'


def test_only_plain_http_targets_take_a_file() -> None:
    assert (sendable("http://127.0.0.1:5000"), sendable("https://127.0.0.1:5000")) == (True, False)
