"""Time /healthz through the Django test client: `DJANGO_DEBUG=1 .venv/bin/python bench/healthz.py`."""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402


def main(requests: int = 100) -> None:
    client = Client()
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get("/healthz", HTTP_HOST="127.0.0.1")
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 503)
    timings.sort()
    print(
        f"/healthz x{requests}: median {statistics.median(timings):.2f} ms, p95 {timings[int(len(timings) * 0.95) - 1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
