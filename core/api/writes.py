"""The write contract of every API resource (DESIGN, second edition, "Writes"), in one place:

- a 201 carries ``Location`` (the new resource's address);
- detail answers carry an ``ETag`` (from ``id`` and ``version`` where the resource has a version, as
  engagements do, else a hash of the body); ``If-None-Match`` with the current tag gives 304;
- ``If-Match`` on PUT, PATCH, DELETE and POST actions on one resource (status changes ...) gives 412 when
  the tag is not the current one;
- a POST with ``Idempotency-Key`` repeated within 24 hours by the same user returns the first (successful)
  answer and writes nothing more; the same key with another body is a 409.

``core.api.routers.Router`` applies ``WriteContractMixin`` to every viewset it routes.
"""

from __future__ import annotations

import datetime
import hashlib
import json

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from core.api.exceptions import Conflict

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
# A request still unanswered after this long died on the way (a crash): its key may be used again.
IDEMPOTENCY_ABANDONED_AFTER = datetime.timedelta(minutes=5)
REPLAYED_HEADERS = ("Location", "ETag")
KEY_MAX_LENGTH = 255
WRITE_METHODS = ("PUT", "PATCH", "DELETE", "POST")


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The resource changed since you read it: read it again (new ETag) and apply your change to it.")
    default_code = "precondition_failed"


class _Replay(Exception):  # noqa: N818 (not an error: the stored answer, returned instead of running the view)
    def __init__(self, response):
        self.response = response


# --- ETags --------------------------------------------------------------------------------------------------


def etag_of(data) -> str | None:
    """The tag of one resource's representation: ``"<id>-v<version>"`` when it has a version, else a hash."""
    if not isinstance(data, dict) or "results" in data:
        return None
    version = data.get("version")
    if "id" in data and isinstance(version, int) and not isinstance(version, bool):
        return f'"{data["id"]}-v{version}"'
    text = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def tag_matches(header: str, etag: str | None) -> bool:
    """``If-Match``/``If-None-Match``: a list of tags (weak or strong, compared weakly) or ``*``."""
    if etag is None:
        return False
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in tags)


# --- idempotency --------------------------------------------------------------------------------------------


def _digest_default(value):
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "sha256": digest.hexdigest()}
    return str(value)


def request_fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a form or multipart body (DRF puts its files in it too)
        data = dict(data.lists())
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=_digest_default, ensure_ascii=False)
    text = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _key_of(request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        message = _("Send a key of 1 to %(max)d printable characters.") % {"max": KEY_MAX_LENGTH}
        raise exceptions.ValidationError({IDEMPOTENCY_HEADER: [message]})
    return key


def idempotency_claim(request):
    """The record of this POST's key for this user, claimed for it; or raises the stored answer (same body),
    or a 409 (another body, or the first request still running). None without a key."""
    from core.models import IdempotentRequest

    key = _key_of(request)
    if key is None or not request.user or not request.user.is_authenticated:
        return None
    fingerprint = request_fingerprint(request)
    now = timezone.now()
    try:
        with transaction.atomic():
            record, created = IdempotentRequest.objects.select_for_update().get_or_create(
                user=request.user, key=key, defaults={"fingerprint": fingerprint, "created_at": now}
            )
            if created:
                return record
            expired = record.created_at < now - IDEMPOTENCY_TTL
            abandoned = record.status_code is None and record.created_at < now - IDEMPOTENCY_ABANDONED_AFTER
            if expired or abandoned:
                record.fingerprint, record.created_at = fingerprint, now
                record.status_code, record.headers, record.body = None, {}, ""
                record.save()
                return record
    except IntegrityError:  # the same key, sent twice at once: the other one holds it
        raise Conflict(_("A request with this Idempotency-Key is still being processed.")) from None
    if record.fingerprint != fingerprint:
        message = _("This Idempotency-Key was used with another request body; use a new key for a new request.")
        raise Conflict(message, errors={IDEMPOTENCY_HEADER: [message]})
    if record.status_code is None:
        raise Conflict(_("A request with this Idempotency-Key is still being processed."))
    response = HttpResponse(record.body, status=record.status_code, content_type="application/json")
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    raise _Replay(response)


def idempotency_store(record, response) -> None:
    """Keep a success for replays; forget the key after a failure, so that the request may be retried."""
    if not 200 <= response.status_code < 300:
        record.delete()
        return
    body = JSONRenderer().render(response.data).decode() if getattr(response, "data", None) is not None else ""
    record.status_code = response.status_code
    record.headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    record.body = body
    record.save(update_fields=["status_code", "headers", "body"])


def idempotency_purge() -> int:
    """Forget keys older than 24 hours (beat runs this hourly); returns how many."""
    from core.models import IdempotentRequest

    deleted, _counts = IdempotentRequest.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    return deleted


# --- the view mixin -----------------------------------------------------------------------------------------


class WriteContractMixin:
    """Location, ETag / If-None-Match / If-Match and Idempotency-Key for one DRF viewset."""

    _idempotency_record = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            self._idempotency_record = idempotency_claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        if self._idempotency_record is not None:
            self._idempotency_record.delete()
            self._idempotency_record = None
        return super().handle_exception(exc)

    def check_object_permissions(self, request, obj):
        super().check_object_permissions(request, obj)
        wanted = request.headers.get("If-Match")
        if wanted and request.method in WRITE_METHODS and not tag_matches(wanted, etag_of(self._detail_data(obj))):
            raise PreconditionFailed()

    def _detail_data(self, obj):
        """The object as a GET of it shows it (whatever serializer the current action reads its input with)."""
        action, self.action = self.action, "retrieve"
        action_serializer = self.__dict__.pop("serializer_class", None)
        try:
            serializer_class = self.get_serializer_class()
        finally:
            self.action = action
            if action_serializer is not None:
                self.serializer_class = action_serializer
        return serializer_class(obj, context=self.get_serializer_context()).data

    def finalize_response(self, request, response, *args, **kwargs):
        if response.has_header("Idempotent-Replayed"):
            return super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if response.status_code == status.HTTP_201_CREATED and not response.has_header("Location"):
            location = self._location(request, data)
            if location:
                response["Location"] = location
        if response.status_code in (status.HTTP_200_OK, status.HTTP_201_CREATED) and self._is_detail(data):
            etag = etag_of(data)
            if etag:
                response["ETag"] = etag
                wanted = request.headers.get("If-None-Match")
                if request.method in ("GET", "HEAD") and wanted and tag_matches(wanted, etag):
                    response = Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        if self._idempotency_record is not None:
            idempotency_store(self._idempotency_record, response)
            self._idempotency_record = None
        return super().finalize_response(request, response, *args, **kwargs)

    def _lookup_value(self, data):
        if not isinstance(data, dict):
            return None
        lookup = getattr(self, "lookup_field", "pk")
        return data.get("id") if lookup == "pk" else data.get(lookup)

    def _is_detail(self, data) -> bool:
        return isinstance(data, dict) and (getattr(self, "detail", False) or self._lookup_value(data) is not None)

    def _location(self, request, data) -> str | None:
        if hasattr(self, "created_location"):  # a view whose 201 makes no one resource says where to look
            return self.created_location(request, data)
        value = self._lookup_value(data)
        if getattr(self, "action", None) == "create" and value is not None:
            kwarg = self.lookup_url_kwarg or self.lookup_field
            try:
                url = reverse(f"{self.basename}-detail", kwargs={kwarg: value}, request=request)
            except NoReverseMatch:
                return None
            return url if url.endswith("/") else url + "/"  # the routes' documented form (core.api.routers)
        # A resource made by an action on one object (an after-action report): its own address.
        return request.build_absolute_uri(request.path)


def with_write_contract(viewset):
    """``viewset`` with the write contract, under the same name (the schema and logs keep it)."""
    if issubclass(viewset, WriteContractMixin):
        return viewset
    return type(
        viewset.__name__,
        (WriteContractMixin, viewset),
        {"__module__": viewset.__module__, "__doc__": viewset.__doc__, "__qualname__": viewset.__qualname__},
    )
