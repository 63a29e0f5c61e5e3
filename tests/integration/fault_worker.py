"""A real Celery worker process for the fault tests: ``python -m tests.integration.fault_worker NAME``.

With ``FAULT_PAUSE_MARKER=<file>`` set, the worker stops inside a scoring run's write transaction (at the
first ``scores_store`` call), writes its pid to the file and waits there, so the test can SIGKILL it at
that exact point. Without it, this is the plain worker that ``celery -A config worker -P solo`` runs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import django


def main(name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from config.celery import app

    marker = os.environ.get("FAULT_PAUSE_MARKER")
    if marker:
        from assessments.services import runs

        def paused_store(**kwargs):
            Path(marker).write_text(str(os.getpid()))
            time.sleep(600)  # until the test kills this process
            raise AssertionError("the test was meant to kill this worker")

        runs.scores_store = paused_store
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fault-worker")
