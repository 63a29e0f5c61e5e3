"""core.db.InSubqueryList: ``= ANY(ARRAY(...))`` on PostgreSQL, ``IN (...)`` elsewhere, same rows either way."""

import copy

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.db.models import F, Subquery

from core.db import InSubqueryList
from engagements.models import Engagement, Participation
from tests.engagements.factories import EngagementFactory, ParticipationFactory, partner

pytestmark = pytest.mark.django_db


def _filtered(codes):
    ids = Participation.objects.filter(partner__iso3__in=codes).order_by().values("engagement_id")
    return Engagement.objects.filter(InSubqueryList(F("pk"), Subquery(ids)))


def test_rows_are_those_with_a_matching_subquery_row():
    alpha, beta = partner("GHA"), partner("SYC")
    first, second, third = EngagementFactory(), EngagementFactory(), EngagementFactory()
    ParticipationFactory(engagement=first, partner=alpha)
    ParticipationFactory(engagement=second, partner=alpha)
    ParticipationFactory(engagement=second, partner=beta)
    ParticipationFactory(engagement=third, partner=beta)
    assert set(_filtered(["GHA"])) == {first, second}
    assert set(_filtered(["GHA", "SYC"])) == {first, second, third}
    assert list(_filtered(["ZZZ"])) == []
    everyone = Subquery(Participation.objects.values("engagement_id"))
    assert list(Engagement.objects.exclude(InSubqueryList(F("pk"), everyone))) == []


def test_sql_form_per_database():
    sql, _params = _filtered(["GHA"]).query.get_compiler(connection=connection).as_sql()
    if connection.vendor == "postgresql":
        assert "= ANY(ARRAY(SELECT" in sql
    settings = copy.deepcopy(connection.settings_dict)
    settings.update(ENGINE="django.db.backends.sqlite3", NAME=":memory:")
    sqlite = SQLiteWrapper(settings, alias="sqlite-compile-only")
    sql, _params = _filtered(["GHA"]).query.get_compiler(connection=sqlite).as_sql()
    assert "ANY(" not in sql and '"id" IN (SELECT' in sql


@pytest.mark.django_db
def test_constraints_are_checked_by_each_statement_inside_the_block_and_at_the_commit_again_after():
    """``constraints_checked_by_statement``: a row naming a missing partner is refused by its own statement
    inside the block (an import's COPY, in its writing thread), and only at the commit outside it, as
    Django's foreign keys always are; the tables not named keep theirs for the commit inside it too."""
    import datetime

    from django.db import IntegrityError, transaction

    from core.db import constraints_checked_by_statement
    from engagements.models import PartnerChange

    def dangling():
        PartnerChange.objects.create(
            partner_id=-1, first_day=datetime.date(2025, 1, 1), last_day=datetime.date(2025, 1, 2)
        )

    through = Engagement.organizations.through

    with transaction.atomic():
        with constraints_checked_by_statement(PartnerChange):
            with pytest.raises(IntegrityError), transaction.atomic():
                dangling()
            with transaction.atomic():  # a table not named keeps its checks for the commit
                through.objects.create(engagement_id=-1, organization_id=-1)
                transaction.set_rollback(True)
        with transaction.atomic():
            dangling()  # accepted by the statement: checked at the commit, which this test never reaches
            transaction.set_rollback(True)
