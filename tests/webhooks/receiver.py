"""A real HTTP receiver on 127.0.0.1 (a random port, in a thread) that records what it is sent and answers
the status codes it is told to; shared by the webhook tests and the integration test with a real worker."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


class Receiver(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.answers: list[int] = []  # status codes to answer, in order; 200 once used up
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def bodies(self, event: str | None = None) -> list[dict]:
        return [r["json"] for r in self.received if event is None or r["json"]["event"] == event]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the name http.server calls)
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append({"headers": dict(self.headers), "raw": raw, "json": json.loads(raw)})
            code = self.server.answers.pop(0) if self.server.answers else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def running_receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def readme_verifier():
    """The signature check exactly as README.md shows it (its "Webhooks" section's Python block), so the
    documentation cannot drift from what deliveries really carry."""
    section = README.read_text(encoding="utf-8").split("\n## Webhooks\n", 1)[1].split("\n## ", 1)[0]
    [snippet] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict = {}
    exec(compile(snippet, "README.md (Webhooks)", "exec"), namespace)  # noqa: S102 (our own README)
    return snippet, namespace["verified"]
