"""A real Celery worker process for the fault tests: ``python -m tests.integration.fault_worker NAME``.

With ``FAULT_PAUSE_MARKER=<file>`` set, the worker stops inside a scoring run's write transaction (at the
first ``scores_store`` call), writes its pid to the file and waits there, so the test can SIGKILL it at
that exact point. Without it, this is the plain worker that ``celery -A config worker -P solo`` runs.

``python -m tests.integration.fault_worker --execute RUN_ID`` is the embedded mode's worker instead: with
no broker configured, it sends the run's task, which executes eagerly in this process, as in the web
process of a save or of the "Recompute now" button (the pause applies there too).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import django


def pause_in_write_transaction(marker: str) -> None:
    from assessments.services import runs

    def paused_store(**kwargs):
        Path(marker).write_text(str(os.getpid()))
        time.sleep(600)  # until the test kills this process
        raise AssertionError("the test was meant to kill this worker")

    runs.scores_store = paused_store


def main(args: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from config.celery import app

    if os.environ.get("TESTS_TASK_QUEUE"):  # the queue of the test process that started this worker
        app.conf.task_default_queue = os.environ["TESTS_TASK_QUEUE"]
    marker = os.environ.get("FAULT_PAUSE_MARKER")
    if marker:
        pause_in_write_transaction(marker)
    if args[:1] == ["--execute"]:
        from assessments.tasks import run_assessment

        assert app.conf.task_always_eager, "--execute is the embedded mode: leave CELERY_BROKER_URL unset"
        run_assessment.delay(args[1])
        return
    name = args[0] if args else "fault-worker"
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
    main(sys.argv[1:])
