"""Writing django-simple-history "created" records for rows just inserted in bulk, in SQL.

``simple_history.utils.bulk_create_with_history`` builds one historical model instance per row in Python
and inserts those: on an import of 100,000 engagements that was a third of the time (bench/README.md).
The history rows are copies of the rows just written plus who and when, so one ``INSERT ... SELECT`` per
batch writes the same records without a Python object per row.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import connection, models

from core.copy import send

HISTORY_FIELDS = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}
# SQLite allows 999 variables per statement in older builds.
CHUNK = 900


def history_record_created(
    model: type[models.Model],
    *,
    where_field: str,
    values: Sequence,
    user=None,
    date: datetime.datetime,
    reason: str | None = None,
) -> None:
    """Write a "+" (created) history record, by ``user`` at ``date``, of every row of ``model`` whose
    ``where_field`` (a field name: "id", "engagement" ...) is one of ``values`` (the ids just inserted, or
    their parents' ids)."""
    if not values:
        return
    history = model.history.model
    columns, sources = [], []
    for field in history._meta.concrete_fields:
        if field.name in HISTORY_FIELDS:
            continue
        columns.append(connection.ops.quote_name(field.column))
        sources.append(connection.ops.quote_name(model._meta.get_field(field.name).column))
    columns += [connection.ops.quote_name(name) for name in ("history_date", "history_type", "history_user_id")]
    columns.append(connection.ops.quote_name("history_change_reason"))
    where_column = model._meta.get_field(where_field).column
    # Identifiers only come from the models' metadata, quoted; every value is a query parameter.
    target, source = connection.ops.quote_name(history._meta.db_table), connection.ops.quote_name(model._meta.db_table)
    insert = (
        f"INSERT INTO {target} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(sources)}, %s, '+', %s, %s FROM {source} "
        f"WHERE {connection.ops.quote_name(where_column)} "
    )
    user_id = getattr(user, "pk", None)
    if connection.vendor == "postgresql":
        # After the COPY of the rows it copies, in the background inside ``core.copy.in_background``.
        parameters = [date, user_id, reason, list(values)]
        send(lambda cursor: cursor.execute(insert + "= ANY(%s)", parameters))
        return
    with connection.cursor() as cursor:
        values = list(values)
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            cursor.execute(insert + f"IN ({', '.join(['%s'] * len(chunk))})", [date, user_id, reason, *chunk])
