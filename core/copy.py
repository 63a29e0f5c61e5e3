"""Inserting many new rows with PostgreSQL's ``COPY`` instead of ``INSERT`` (imports, bulk creation).

``bulk_create`` builds one SQL parameter per value in Python: for an import of 100,000 engagements with
their participants that was most of the write's time (bench/README.md). ``copy_insert`` writes the same
rows as one ``COPY ... FROM STDIN`` stream per table, in the text format (every value escaped, so no value
is ever read as a NULL or a column break). Ids the caller needs are drawn from the table's sequence first,
so concurrent writers never collide. Other databases get ``bulk_create``.

Inside ``in_background()`` (a long import, in its transaction) these streams and the bulk ``INSERT ...
SELECT`` statements of ``core.history`` are sent by a second thread, in the order they were made, on the
same connection and so in the same transaction, while this thread goes on checking the next rows:
psycopg2 releases the GIL while PostgreSQL works, so the two overlap instead of adding up.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import io
import itertools
import json
import queue
import threading
import time
from collections.abc import Callable

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from core.fields import IdArrayField
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
    if isinstance(model_field, IdArrayField):  # an array of integers: {1,2,3}
        return lambda value: "\\N" if value is None else "{" + ",".join(map(str, value)) + "}"
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
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return
    _stream_columns(model, fields, list(zip(*rows, strict=True)))


def _stream_columns(model: type[models.Model], fields: list, columns: list) -> None:
    """COPY rows given column by column (each a sequence of values, one per row, in the order of ``fields``)."""
    # Column by column: a column of one kind of value (text, whole numbers, dates, nothing) is converted
    # by one call over all its values instead of a Python call per value.
    texts = [_column_text(_converter(f), column) for f, column in zip(fields, columns, strict=True)]
    text = "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"
    if "\x00" in text:  # what the execute wrapper (core.hostile) refuses for every other statement
        raise NullCharacterError()
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    data = text.encode()
    # One read of the whole stream: each read takes the GIL, which a writer thread waits for (in_background).
    send(lambda cursor: cursor.copy_expert(sql, io.BytesIO(data), len(data) + 1))


_NONE = type(None)


def _column_text(convert, values: tuple) -> list[str] | tuple:
    """``convert`` applied to each of ``values``, as COPY's text (the same answer, quicker for a column
    whose values are all of one usual kind)."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = next(iter(kinds))
        if kind is str and convert in (_text, _plain):
            joined = "".join(values)  # one scan for the characters to escape: most columns have none
            if "\\" not in joined and "\n" not in joined and "\r" not in joined and "\t" not in joined:
                return values
            return tuple(map(str.translate, values, itertools.repeat(_ESCAPES)))
        if kind is int and convert in (_number, _plain):
            return tuple(map(str, values))
        if kind is _NONE:
            return ("\\N",) * len(values)
        if kind is datetime.date and convert is _plain:
            return tuple(map(datetime.date.isoformat, values))
        if kind is datetime.datetime and convert is _plain:
            return tuple(map(datetime.datetime.isoformat, values))
    return tuple(map(convert, values))


# --- sending from a second thread -------------------------------------------------------------------------

_current = threading.local()


def send(statement: Callable) -> None:
    """Run ``statement(cursor)`` now (Django's cursor), or queue it for the writer thread of the enclosing
    ``in_background()`` block (a psycopg2 cursor): either way after every statement sent before it."""
    writer = getattr(_current, "writer", None)
    if writer is not None:
        writer.submit(statement)
        return
    with connection.cursor() as cursor:
        statement(cursor)


class _Writer:
    """A thread that runs queued statements, in order, on the connection of the thread that made it. After
    a statement fails it runs no other; the failure is raised in the making thread at its next ``submit``
    and at ``drain``.

    One connection serves one statement at a time: psycopg2 does not lock it for the whole of a COPY, so a
    query of the making thread in the middle of one would corrupt the exchange. ``turn`` is held by the
    writer for each statement and by the making thread for each of its own (``taking_turns``). The making
    thread goes first: its queries come in bursts (drawing ids, reference numbers) and it waits for their
    answers, while the writer's statements can wait. So the writer starts a statement only when the making
    thread neither waits for the connection nor used it in the last ``PAUSE`` seconds (a lock alone lets
    the writer take it back statement after statement: the checker then waited for the whole queue)."""

    # Statements queued at most (a batch of an import makes about eight): a checker far ahead of PostgreSQL
    # waits instead of holding every batch's rows in memory.
    WAITING = 32
    PAUSE = 0.003

    def __init__(self, raw_connection, errors):
        self.raw = raw_connection
        self.errors = errors  # Django's wrapper: a failure is raised as django.db's IntegrityError ...
        self.queue: queue.Queue = queue.Queue(maxsize=self.WAITING)
        self.turn = threading.Lock()
        self.asking = threading.Condition()  # guards ``waiting`` and ``last``: the making thread's use
        self.waiting = 0
        self.last = 0.0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="copy-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            statement = self.queue.get()
            try:
                if statement is None:
                    return
                if self.error is None:
                    self._make_way()
                    with self.turn, self.errors, self.raw.cursor() as cursor:
                        statement(cursor)
            except BaseException as exc:  # noqa: BLE001 - raised again in the making thread
                self.error = exc
            finally:
                self.queue.task_done()

    def _make_way(self) -> None:
        """Wait while the making thread is using the connection (see the class)."""
        with self.asking:
            while True:
                pause = self.last + self.PAUSE - time.monotonic()
                if not self.waiting and pause <= 0:
                    return
                self.asking.wait(None if self.waiting else pause)

    def raise_failure(self) -> None:
        if self.error is not None:
            raise self.error

    def submit(self, statement: Callable) -> None:
        self.raise_failure()
        self.queue.put(statement)

    def drain(self) -> None:
        """Wait until every queued statement ran; raise the first failure."""
        self.queue.join()
        self.raise_failure()

    def stop(self) -> None:
        """Drop what is still queued, wait for the statement under way, end the thread."""
        self.error = self.error or _Stopped()
        self.queue.put(None)
        self.thread.join()

    def taking_turns(self, execute, sql, params, many, context):
        """Django's execute wrapper for the making thread: its statements wait for the writer's."""
        with self.asking:
            self.waiting += 1
        try:
            with self.turn:
                return execute(sql, params, many, context)
        finally:
            with self.asking:
                self.waiting -= 1
                self.last = time.monotonic()
                self.asking.notify_all()


class _Stopped(Exception):
    """The block ended before its queued statements ran (it raised): they are dropped."""


@contextlib.contextmanager
def in_background():
    """Inside a transaction: COPY streams and ``core.history`` statements made in this block are sent by a
    second thread while this one goes on; the block waits for all of them at its end and raises the first
    failure, so the enclosing transaction rolls back as it would have. Statements other code sends through
    the connection meanwhile run in between: use it only around writes whose later reads do not depend on
    what is queued (an import's new rows), and ``drain`` before any that do. Other databases, or outside a
    transaction: nothing changes."""
    if (
        connection.vendor != "postgresql"
        or not connection.in_atomic_block
        or getattr(_current, "writer", None) is not None
    ):
        yield None
        return
    connection.ensure_connection()
    writer = _Writer(connection.connection, connection.wrap_database_errors)
    _current.writer = writer
    try:
        with connection.execute_wrapper(writer.taking_turns):
            yield writer
            writer.drain()
    except BaseException as exc:
        failure = writer.error
        if failure is None or failure is exc:
            raise
        # This thread's error came after the writer's (a statement on the transaction it had aborted).
        raise failure from exc
    finally:
        _current.writer = None
        writer.stop()


def wait_for_background() -> None:
    """Inside ``in_background()``: wait until every statement queued so far ran (before a write or a read
    that depends on them); raise the first failure. Elsewhere nothing is queued."""
    writer = getattr(_current, "writer", None)
    if writer is not None:
        writer.drain()


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


def copy_columns(model: type[models.Model], columns: dict[str, list]) -> None:
    """``copy_values`` for rows given column by column: each attribute name with its values, one per row, all
    of the same length (no dict or list made per row: an import's participations and partner changes). A
    column left out takes the field's default, ``auto_now`` fields the time now. The database numbers them."""
    count = len(next(iter(columns.values()), ()))
    if not count:
        return
    fields = _columns(model, with_id=False)
    unknown = set(columns) - {f.attname for f in fields}
    if unknown or any(len(values) != count for values in columns.values()):
        raise ValueError(f"Columns of {model.__name__}: unknown {sorted(unknown)} or of different lengths")
    if connection.vendor != "postgresql":
        names = list(columns)
        model.objects.bulk_create(
            [model(**dict(zip(names, values, strict=True))) for values in zip(*columns.values(), strict=True)],
            batch_size=2000,
        )
        return
    defaults = _defaults(fields)
    _stream_columns(model, fields, [columns.get(f.attname) or (defaults[f.attname],) * count for f in fields])


def copy_objects(model: type[models.Model], objects: list, *, chunk: int = 100_000) -> None:
    """Insert unsaved instances of ``model`` (PostgreSQL), every stored column as the instances hold it, one
    ``COPY`` per ``chunk`` instances; ids left unset are numbered by the database (the demo generator)."""
    if not objects:
        return
    fields = _columns(model, with_id=objects[0].pk is not None)
    names = [f.attname for f in fields]
    for start in range(0, len(objects), chunk):
        _stream(model, fields, ([getattr(o, name) for name in names] for o in objects[start : start + chunk]))


def draw_ids(model: type[models.Model], count: int) -> list[int] | None:
    """``count`` new ids from the sequence of ``model``'s table, as an INSERT would take them (PostgreSQL;
    None elsewhere: ``copy_new`` lets ``bulk_create`` number the rows)."""
    if connection.vendor != "postgresql":
        return None
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(model._meta.db_table), model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


class IdPool:
    """New ids of ``model``'s table for many bulk writes in one transaction (an import's batches), drawn from
    its sequence ahead of need: a query every few batches instead of one per batch. Inside
    ``in_background`` each query of the checking thread waits for the statement the writer has under way
    (an engagement COPY, half a second at a million), so the fewer the better. A draw takes what is asked,
    or as many as were drawn before up to ``AHEAD`` times what is asked: a single write draws exactly what it
    needs, an import of 100,000 rows in batches of 5,000 draws seven times. Ids drawn and not used stay
    unused, as after a rollback (a sequence has gaps: nothing reads meaning into an id)."""

    AHEAD = 4

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.ready: list[int] = []
        self.drawn = 0

    def take(self, count: int) -> list[int] | None:
        """``count`` ids, in the order drawn (None on other databases, as ``draw_ids``)."""
        if connection.vendor != "postgresql":
            return None
        if len(self.ready) < count:
            wanted = max(count - len(self.ready), min(self.drawn, self.AHEAD * count))
            self.ready.extend(draw_ids(self.model, wanted))
            self.drawn += wanted
        taken, self.ready = self.ready[:count], self.ready[count:]
        return taken


def copy_new(model: type[models.Model], rows: list[dict], *, ids: list[int] | None = None) -> list:
    """Insert new rows of ``model`` given as values by attribute name, and return them as saved instances
    with their ids (drawn from the table's sequence first: concurrent writers never collide). A value left
    out takes the field's default, as in ``copy_values``. ``ids``: drawn already (``draw_ids``), one per row."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
    fields = _columns(model, with_id=True)
    defaults = _defaults(fields)
    names = [f.attname for f in fields]
    pk_name = model._meta.pk.attname
    # Column by column (a list per field, not per row), then the rows as tuples for the instances.
    if ids is None:
        ids = draw_ids(model, len(rows))
    elif len(ids) != len(rows):
        raise ValueError(f"{len(ids)} ids for {len(rows)} rows")
    columns = [list(ids) if name == pk_name else _column_of(rows, name, defaults[name]) for name in names]
    _stream_columns(model, fields, columns)
    values = list(zip(*columns, strict=True))
    if post_init.has_listeners(model) or pre_init.has_listeners(model):
        return [model.from_db(connection.alias, names, row) for row in values]
    alias = connection.alias  # a lookup through the connection proxy each time costs more than the rest
    return [_loaded(model, names, row, alias) for row in values]


def _column_of(rows: list[dict], name: str, default) -> list:
    """The values of ``name`` in ``rows``, ``default`` where a row leaves it out."""
    return [row.get(name, default) for row in rows]


def _loaded(model: type[models.Model], names: list[str], row: list, alias: str) -> models.Model:
    """A saved instance of ``row``, as ``Model.from_db`` makes it without the signals nobody listens to and
    the per-field work of ``__init__`` (a third of writing 100,000 new engagements)."""
    instance = model.__new__(model)
    instance.__dict__.update(zip(names, row, strict=True))
    state = ModelState()
    state.adding, state.db = False, alias
    instance._state = state
    return instance
