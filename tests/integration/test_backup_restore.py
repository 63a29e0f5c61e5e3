"""The documented backup and restore (README, "Backups") works: pg_dump, pg_restore into a fresh
database, and the same rows come back."""

import contextlib
import datetime
import shutil
import subprocess
import uuid

import psycopg2
import pytest
from django.db import connection

from engagements import services

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]


def _conninfo(dbname: str) -> dict:
    settings = connection.settings_dict
    return {
        "dbname": dbname,
        "user": settings["USER"],
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "password": settings["PASSWORD"] or None,
    }


def _fingerprint(cursor) -> tuple:
    cursor.execute(
        "SELECT count(*), string_agg(reference || ':' || title, ',' ORDER BY reference) FROM engagements_engagement"
    )
    engagements = cursor.fetchone()
    cursor.execute("SELECT count(*), sum(personnel) FROM engagements_participation")
    participations = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM engagements_historicalengagement")
    history = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM organizations_membership")
    memberships = cursor.fetchone()
    return engagements, participations, history, memberships


def test_pg_dump_and_pg_restore_round_trip(make_user, reference_data, tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.fail("pg_dump and pg_restore must be installed (postgresql-client)")
    planner = make_user("backup-planner", "planner")
    for n in range(3):
        services.engagement_create(
            created_by=planner,
            title=f"Backup check {n}",
            engagement_type="conference",
            domain="joint",
            start_date=datetime.date(2025, 1, 10 + n),
            end_date=datetime.date(2025, 1, 11 + n),
            host_country="KEN",
            participants=[{"partner": "KEN", "role": "host", "personnel": 10 + n}, {"partner": "UGA", "personnel": 5}],
        )
    source = connection.settings_dict["NAME"]
    info = _conninfo(source)
    dump = tmp_path / "backup.dump"
    base = ["-h", str(info["host"]), "-p", str(info["port"]), "-U", info["user"]]
    subprocess.run(
        ["pg_dump", *base, "--format=custom", "--no-owner", f"--file={dump}", source], check=True, timeout=300
    )
    with connection.cursor() as cursor:
        expected = _fingerprint(cursor)

    target = f"restore_check_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", *base, target], check=True, timeout=60)
    try:
        subprocess.run(
            ["pg_restore", *base, "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump)],
            check=True,
            timeout=300,
        )
        # closing(): psycopg2's own ``with`` ends the transaction but leaves the session open, and an open
        # session makes the dropdb below fail (it did, silently: every run left a restore_check database).
        with (
            contextlib.closing(
                psycopg2.connect(**{k: v for k, v in _conninfo(target).items() if v is not None})
            ) as restored,
            restored.cursor() as cursor,
        ):
            assert _fingerprint(cursor) == expected
        assert expected[0][0] == 3 and expected[1] == (6, 3 * 10 + 3 + 15)
    finally:
        dropped = subprocess.run(["dropdb", *base, "--if-exists", target], capture_output=True, text=True, timeout=60)
    assert dropped.returncode == 0, f"the restored copy {target} was left behind: {dropped.stderr}"
