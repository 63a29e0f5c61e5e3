"""The clients of `make bench-load` (bench/load.py starts locust on this file, headless; see bench/README.md).

Every client sends requests back to back, with no pause: N clients are N requests in flight. Requests go
to gunicorn as the TLS proxy forwards them (``X-Forwarded-Proto: https``). bench/load.py prepares the users
and passes, in the environment:

- ``LOAD_SCENARIO``: ``read`` (one page or API path, ``LOAD_NAME`` and ``LOAD_PATH``) or ``mixed``
  (analysts reading the five paths of ``LOAD_PATHS`` while planners save engagements through the API);
- ``LOAD_SESSION``: an analyst's session cookie; ``LOAD_TOKEN``: an analyst's API token;
- ``LOAD_PLANNERS``: for ``mixed``, one ``[token, engagement id]`` per planner client (each saves its own
  engagement, so every refused write would be a lost write, not a conflict between clients);
- ``LOAD_CLIENT``: ``fast`` (locust's FastHttpUser, the default) or ``requests`` (HttpUser).
"""

from __future__ import annotations

import datetime
import itertools
import json
import os
import random

from locust import HttpUser, constant, task
from locust.contrib.fasthttp import FastHttpUser

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
# What python-requests (locust's HttpUser, used before) sent besides: the same request line and headers.
CLIENT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate, br"}
SCENARIO = os.environ.get("LOAD_SCENARIO", "read")
API_PREFIX = "/api/"
_planner_numbers = itertools.count()


def _headers(path: str) -> dict:
    if path.startswith(API_PREFIX):
        return {
            **CLIENT_HEADERS,
            **PROXY,
            "Authorization": f"Token {os.environ['LOAD_TOKEN']}",
            "Accept": "application/json",
        }
    # Sent by hand: the session cookie is `Secure`, which a plain-HTTP cookie jar would not send back.
    return {**CLIENT_HEADERS, **PROXY, "Cookie": f"sessionid={os.environ['LOAD_SESSION']}"}


# ``LOAD_CLIENT=requests``: python-requests (locust's HttpUser), the client of the earlier figures.
FAST = os.environ.get("LOAD_CLIENT", "fast") != "requests"


class Client(FastHttpUser if FAST else HttpUser):
    """locust's geventhttpclient client (FastHttpUser) by default: the same requests as python-requests'
    for a fraction of its CPU, which on this machine is taken from the server measured. No cookie jar:
    python-requests never sent the `Secure` cookies the server sets back over plain HTTP, nor does this."""

    abstract = True

    def on_start(self):
        if FAST:
            self.client.client.cookiejar = None


def _get(client, name: str, path: str) -> None:
    with client.get(path, headers=_headers(path), name=name, catch_response=True) as response:
        if response.status_code != 200:
            response.failure(f"{response.status_code} for {path}")


class Reader(Client):
    """``read``: one path again and again. ``mixed``: the analyst, on any of the paths."""

    wait_time = constant(0)

    @task
    def read(self):
        if SCENARIO == "read":
            _get(self.client, os.environ["LOAD_NAME"], os.environ["LOAD_PATH"])
        else:
            name, path = random.choice(list(json.loads(os.environ["LOAD_PATHS"]).items()))
            _get(self.client, f"read {name}", path)


class Planner(Client):
    """``mixed`` only: saves its engagement's title and end date with the version it last read (a refused
    write would be a 409)."""

    wait_time = constant(1)  # a planner saves about once a second; readers do not wait
    fixed_count = int(os.environ.get("LOAD_PLANNER_CLIENTS", "1"))  # the other clients are readers

    def on_start(self):
        super().on_start()
        planners = json.loads(os.environ.get("LOAD_PLANNERS", "[]"))
        token, self.engagement = planners[next(_planner_numbers) % len(planners)]
        self.headers = {
            **CLIENT_HEADERS,
            **PROXY,
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
        }
        self.url = f"/api/v1/engagements/{self.engagement}/"
        engagement = self.client.get(self.url, headers=self.headers, name="write: read version").json()
        self.version = engagement["version"]
        # Its end moves by a day and back, so that each save makes scores stale and queues a run.
        end, start = (datetime.date.fromisoformat(engagement[name]) for name in ("end_date", "start_date"))
        self.ends = [end, end - datetime.timedelta(days=1)] if end > start else [end]
        self.saved = 0

    @task
    def save(self):
        self.saved += 1
        end = self.ends[self.saved % len(self.ends)].isoformat()
        body = json.dumps({"title": f"Load test save {self.saved}", "end_date": end, "version": self.version})
        with self.client.patch(
            self.url, data=body, headers=self.headers, name="write engagement", catch_response=True
        ) as response:
            if response.status_code == 200:
                self.version = response.json()["version"]
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
