"""Inserting many new rows with PostgreSQL's ``COPY`` instead of ``INSERT`` (imports, bulk creation).

``bulk_create`` builds one SQL parameter per value in Python: for an import of 100,000 engagements with
their participants that was most of the write's time (bench/README.md). ``copy_insert`` writes the same
rows as one ``COPY ... FROM STDIN`` stream per table, in the text format (every value escaped, so no value
is ever read as a NULL or a column break). Ids the caller needs are drawn from the table's sequence first,
so concurrent writers never collide. Other databases get ``bulk_create``.
"""

from __future__ import annotations

import datetime
import decimal
import io
import json

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from core.hostile import NullCharacterError

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _plain(value) -> str:
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, datetime.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, int | decimal.Decimal | float):
        return str(value)
    return str(value).translate(_ESCAPES)


def _text(value) -> str:
    return "\\N" if value is None else value.translate(_ESCAPES) if type(value) is str else _plain(value)


def _number(value) -> str:
    return "\\N" if value is None else str(value) if type(value) is int else _plain(value)


def _converter(model_field):
    """How a value of ``model_field`` is written in COPY's text format (one function per kind, chosen once:
    an import writes millions of values)."""
    if isinstance(model_field, models.JSONField):
        encoder = model_field.encoder
        return lambda value: "\\N" if value is None else json.dumps(value, cls=encoder).translate(_ESCAPES)
    if isinstance(model_field, models.CharField | models.TextField):
        return _text
    if isinstance(model_field, models.IntegerField | models.ForeignKey | models.AutoField):
        return _number
    return _plain


def _stream(model: type[models.Model], fields: list, rows) -> None:
    """COPY ``rows`` (each a sequence of values in the order of ``fields``) into ``model``'s table."""
    converters = [_converter(f) for f in fields]
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        write("\t".join([convert(value) for convert, value in zip(converters, row, strict=True)]))
        write("\n")
    text = buffer.getvalue()
    if "\x00" in text:  # what the execute wrapper (core.hostile) refuses for every other statement
        raise NullCharacterError()
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, io.StringIO(text))


def _columns(model: type[models.Model], *, with_id: bool) -> list:
    return [
        f for f in model._meta.concrete_fields if (with_id or not f.primary_key) and not getattr(f, "generated", False)
    ]


def _defaults(fields: list) -> dict:
    now = timezone.now()
    return {
        f.attname: now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
        for f in fields
    }


def copy_values(model: type[models.Model], rows: list[dict]) -> None:
    """Insert new rows of ``model`` given as values by attribute name (``engagement_id``, not ``engagement``),
    without building model instances; a value left out takes the field's default, ``auto_now`` fields the
    time now. The database numbers them."""
    if not rows:
        return
    fields = _columns(model, with_id=False)
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    defaults = _defaults(fields)
    names = [f.attname for f in fields]
    _stream(model, fields, ([row.get(name, defaults[name]) for name in names] for row in rows))


def copy_objects(model: type[models.Model], objects: list, *, chunk: int = 100_000) -> None:
    """Insert unsaved instances of ``model`` (PostgreSQL), every stored column as the instances hold it, one
    ``COPY`` per ``chunk`` instances; ids left unset are numbered by the database (the demo generator)."""
    if not objects:
        return
    fields = _columns(model, with_id=objects[0].pk is not None)
    names = [f.attname for f in fields]
    for start in range(0, len(objects), chunk):
        _stream(model, fields, ([getattr(o, name) for name in names] for o in objects[start : start + chunk]))


def draw_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids from the sequence of ``model``'s table (PostgreSQL), as an INSERT would take them."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(model._meta.db_table), model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def copy_new(model: type[models.Model], rows: list[dict]) -> list:
    """Insert new rows of ``model`` given as values by attribute name, and return them as saved instances
    with their ids (drawn from the table's sequence first: concurrent writers never collide). A value left
    out takes the field's default, as in ``copy_values``."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
    fields = _columns(model, with_id=True)
    defaults = _defaults(fields)
    names = [f.attname for f in fields]
    pk_name = model._meta.pk.attname
    values = [
        [pk if name == pk_name else row.get(name, defaults[name]) for name in names]
        for row, pk in zip(rows, draw_ids(model, len(rows)), strict=True)
    ]
    _stream(model, fields, values)
    if post_init.has_listeners(model) or pre_init.has_listeners(model):
        return [model.from_db(connection.alias, names, row) for row in values]
    return [_loaded(model, names, row) for row in values]


def _loaded(model: type[models.Model], names: list[str], row: list) -> models.Model:
    """A saved instance of ``row``, as ``Model.from_db`` makes it without the signals nobody listens to and
    the per-field work of ``__init__`` (a third of writing 100,000 new engagements)."""
    instance = model.__new__(model)
    instance.__dict__.update(zip(names, row, strict=True))
    state = ModelState()
    state.adding, state.db = False, connection.alias
    instance._state = state
    return instance
