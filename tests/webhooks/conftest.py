"""A real HTTP receiver on 127.0.0.1 (a random port, in a thread) and eager Celery for webhook tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Receiver(ThreadingHTTPServer):
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


@pytest.fixture
def receiver(settings):
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def eager():
    """Embedded mode: deliveries are sent (and retried, without waiting) in the process that queues them."""
    from webhooks.tasks import deliver_webhook

    conf = deliver_webhook.app.conf
    previous = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = previous
