"""Start a real ``translate-pipe serve`` process on a free 127.0.0.1 port, and a client for it.

:class:`Client` is the real ``libretranslatepy.LibreTranslateAPI``; the requests its 2.1.4
release has no method for (arrays, ``format=html``, ``alternatives``, files, our extensions) are
sent the way LibreTranslate's other clients send them, through the client's own URL and key.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from libretranslatepy import LibreTranslateAPI

ROOT = Path(__file__).resolve().parents[1]


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_files(root: Path) -> Iterator[str]:
    """A real HTTP server of the files under ``root`` on a free 127.0.0.1 port (a package
    index and its downloads); yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: _QuietFiles(*a, directory=str(root), **k))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(db: Path, packages: Path, *args: str, timeout: float = 60.0) -> Iterator[str]:
    """``translate-pipe serve`` in a subprocess; yields its base URL; stops it afterwards."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = db.parent / f"server-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "translate_pipe", "--db", str(db), "--packages-dir", str(packages),
             "serve", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode}): {log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "health", timeout=2) as r:
                    if json.loads(r.read()) == {"status": "ok"}:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Client(LibreTranslateAPI):
    def post_json(self, endpoint: str, data: dict[str, Any], timeout: float = 60) -> Any:
        if self.api_key is not None:
            data = {**data, "api_key": self.api_key}
        req = urllib.request.Request(
            self.url + endpoint, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def translate_json(self, q: str | list[str], source: str = "ar", target: str = "en", **extra: Any) -> Any:
        return self.post_json("translate", {"q": q, "source": source, "target": target, **extra})

    def translate_file(self, name: str, data: bytes, source: str = "ar", target: str = "en", **extra: str) -> bytes:
        """POST /translate_file as multipart, then download the translatedFileUrl."""
        boundary = uuid.uuid4().hex
        fields = {"source": source, "target": target, **extra}
        if self.api_key is not None:
            fields["api_key"] = self.api_key
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
        )
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(
            self.url + "translate_file", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        with urllib.request.urlopen(req, timeout=120) as r:
            url = json.loads(r.read())["translatedFileUrl"]
        with urllib.request.urlopen(url, timeout=30) as r:
            return bytes(r.read())


def http_error(call: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """Run a client call that must fail; returns (status, JSON body)."""
    try:
        call(*args, **kwargs)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    raise AssertionError("the request succeeded")
