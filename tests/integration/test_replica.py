"""Reads on a real streaming replica (scripts/replica.sh, `make replica`; .ci/run starts it): dashboards read
there, and a planner's save is on their next page even while the replica lags behind.

The replica is a hot standby of the primary's whole cluster on 127.0.0.1:5433 (TEST_DATABASE_REPLICA_URL to
change it), so the test database pytest creates on the primary appears there by itself. The test points a
``replica`` database alias at that copy of the test database for its duration (the settings' MIRROR is for
runs without a real replica), waits for the replica to replay what the test wrote, and then looks at
which connection served the queries and whether it is in recovery.
"""

from __future__ import annotations

import datetime
import os
import time
import uuid

import dj_database_url
import psycopg2
import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.choices import RunTrigger
from assessments.services import assessment_run_execute, assessment_run_request
from core.replica import REPLICA, STICKY_COOKIE
from tests.assessments.factories import make_engagement

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True, databases=["default", REPLICA])]

REPLICA_URL = os.environ.get("TEST_DATABASE_REPLICA_URL", "postgres://postgres@127.0.0.1:5433/postgres")


def _absent(reason: str):
    message = f"{reason}; start it with `make replica` (scripts/replica.sh)"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1: this test must run, not skip)", pytrace=False)
    pytest.skip(message)


def _standby():
    """A connection to the replica's maintenance database, or None."""
    params = dj_database_url.parse(REPLICA_URL)
    try:
        return psycopg2.connect(
            host=params["HOST"],
            port=params["PORT"] or 5432,
            user=params["USER"],
            password=params["PASSWORD"] or None,
            dbname=params["NAME"] or "postgres",
            connect_timeout=3,
        )
    except psycopg2.OperationalError:
        return None


def _one(conn, sql, params=()):
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _standby_checked():
    conn = _standby()
    if conn is None:
        _absent(f"no PostgreSQL replica answers at {REPLICA_URL}")
    conn.autocommit = True
    if not _one(conn, "SELECT pg_is_in_recovery()"):
        conn.close()
        _absent(f"the server at {REPLICA_URL} is not a standby")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT system_identifier FROM pg_control_system()")
        primary_id = cursor.fetchone()[0]
    if _one(conn, "SELECT system_identifier FROM pg_control_system()") != primary_id:
        conn.close()
        _absent(f"the standby at {REPLICA_URL} does not replicate this test's primary")
    return conn


def wait_for_replay(standby, timeout: float = 60) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        lsn = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while not _one(standby, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]):
        if time.monotonic() > deadline:
            raise AssertionError(f"the replica did not replay {lsn} within {timeout}s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def standby(django_db_setup, django_db_blocker):
    """The replica (skipped, or failed under REQUIRE_SERVICES=1, without one) and, for this module, a
    ``replica`` alias on its copy of the test database. The alias exists before each test's database
    fixture, which then allows it; it is marked as a mirror, so that no test tries to flush a standby."""
    with django_db_blocker.unblock():
        conn = _standby_checked()
        wait_for_replay(conn)  # the test database, created on the primary, has reached the replica
    params = dj_database_url.parse(REPLICA_URL)
    primary = connections["default"].settings_dict
    connections.settings[REPLICA] = {
        **primary,
        "HOST": params["HOST"],
        "PORT": params["PORT"],
        "USER": params["USER"],
        "PASSWORD": params["PASSWORD"],
        "NAME": primary["NAME"],
        "CONN_MAX_AGE": 0,
        "TEST": {**primary.get("TEST", {}), "MIRROR": "default"},
    }
    try:
        yield conn
    finally:
        if _one(conn, "SELECT pg_is_wal_replay_paused()"):
            _one(conn, "SELECT pg_wal_replay_resume()::text")
        conn.close()
        connections[REPLICA].close()
        del connections.settings[REPLICA]
        if hasattr(connections._connections, REPLICA):
            delattr(connections._connections, REPLICA)


@pytest.fixture
def replica(standby):
    yield connections[REPLICA]
    if _one(standby, "SELECT pg_is_wal_replay_paused()"):
        _one(standby, "SELECT pg_wal_replay_resume()::text")


def domain_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"assessments_' in q["sql"] or '"engagements_' in q["sql"]]


def test_dashboard_reads_hit_the_replica(reference_data, standby, replica, client, make_user):
    make_engagement(["KEN", "TZA"], datetime.date(2025, 3, 1), datetime.date(2025, 3, 9), ratings=(4, 4, 4))
    run = assessment_run_request(trigger=RunTrigger.MANUAL, periods=["2025-Q1"], enqueue=False)
    assessment_run_execute(run_id=run.pk, lock_wait=10)
    client.force_login(make_user("reader", "analyst"))
    wait_for_replay(standby)

    with CaptureQueriesContext(replica) as on_replica, CaptureQueriesContext(connections["default"]) as on_primary:
        response = client.get(reverse("assessments:partner", args=["KEN"]) + "?period=2025-Q1")
    assert response.status_code == 200
    assert "Kenya" in response.text
    read_there = domain_queries(on_replica)
    assert any('"assessments_partnerscore"' in sql for sql in read_there), read_there
    assert not domain_queries(on_primary), domain_queries(on_primary)  # sessions and users stay on the primary
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), inet_server_port()")
        in_recovery, port = cursor.fetchone()
    assert in_recovery is True and port == int(dj_database_url.parse(REPLICA_URL)["PORT"])

    # A page not named for the replica (the runs' workspace) reads on the primary.
    with CaptureQueriesContext(replica) as on_replica:
        assert client.get(reverse("assessments:runs")).status_code == 200
    assert not on_replica.captured_queries


def test_a_planner_sees_their_save_on_the_next_page_while_the_replica_lags(
    reference_data, standby, replica, client, make_user
):
    planner = make_user("planner-r", "planner")
    viewer = make_user("viewer-r", "viewer")
    client.force_login(planner)
    wait_for_replay(standby)
    title = f"Replica check {uuid.uuid4().hex[:8]}"

    with CaptureQueriesContext(replica) as on_replica:
        assert client.get(reverse("engagements:list")).status_code == 200
    assert domain_queries(on_replica), "the engagement list is read on the replica"

    _one(standby, "SELECT pg_wal_replay_pause()::text")  # the replica now lags behind for as long as needed
    created = client.post(
        "/api/v1/engagements/",
        {
            "title": title,
            "engagement_type": "exercise",
            "domain": "joint",
            "start_date": "2025-05-04",
            "end_date": "2025-05-22",
            "host_country": "MAR",
            "participants": [{"partner": "MAR", "role": "host"}],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert STICKY_COOKIE in created.cookies

    # The planner's next page reads on the primary and shows the save.
    with CaptureQueriesContext(replica) as on_replica:
        page = client.get(reverse("engagements:list") + "?q=" + title.split()[-1])
    assert page.status_code == 200 and title in page.text
    assert not on_replica.captured_queries

    # Someone else reads the replica, which has not replayed the save yet: what replica lag looks like.
    client.cookies.clear()
    client.force_login(viewer)
    with CaptureQueriesContext(replica) as on_replica:
        other = client.get(reverse("engagements:list") + "?q=" + title.split()[-1])
    assert other.status_code == 200 and title not in other.text
    assert domain_queries(on_replica)

    _one(standby, "SELECT pg_wal_replay_resume()::text")
    wait_for_replay(standby)
    assert title in client.get(reverse("engagements:list") + "?q=" + title.split()[-1]).text
