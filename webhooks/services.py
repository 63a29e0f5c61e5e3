"""Webhook writes: subscriptions (create, update, delete), queuing events as deliveries, and sending one.

Who learns what: restricted engagements reach only webhooks whose owner may read them
(``engagements.models.may_read_restricted``, the one home of that rule); the other webhooks learn that an
engagement became restricted as ``engagement.withdrawn`` (its id only) and that it stopped being restricted as
``engagement.created``, as the change feed tells their owners.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from engagements.choices import Sensitivity
from engagements.models import may_read_restricted
from webhooks import rules
from webhooks.choices import TEST_EVENT, WebhookEvent
from webhooks.models import Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Engagement-Signature"
TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 5
SECRET_MIN_LENGTH = 16

ALL, READERS, NON_READERS = "all", "readers", "non_readers"


class WebhookDeliveryFailed(Exception):  # noqa: N818 (a result the task retries, named as users read it)
    """A delivery failed in a way worth trying again (no connection, a timeout, a 5xx answer)."""


# --- subscriptions --------------------------------------------------------------------------------------


def webhook_clean(*, url=None, events=None, secret=None, description=None, creating: bool) -> None:
    """Every problem of the input at once, by field (a 400 lists them all)."""
    problems: dict[str, list[str]] = {}
    if url is not None or creating:
        problem = rules.url_problem(url or "")
        if problem:
            problems["url"] = [problem]
    if events is not None or creating:
        problem = rules.events_problem(events)
        if problem:
            problems["events"] = [problem]
    if (secret is not None or creating) and not SECRET_MIN_LENGTH <= len(secret or "") <= 200:
        problems["secret"] = [
            _("Give a secret of %(min)s to 200 characters: deliveries are signed with it.") % {"min": SECRET_MIN_LENGTH}
        ]
    if description is not None and len(description) > 200:
        problems["description"] = [_("Keep the description to 200 characters.")]
    if problems:
        raise ValidationError(problems)


def webhook_secret_generate() -> str:
    """A fresh random secret (43 characters), for an administrator who leaves the field empty on the page."""
    return secrets.token_urlsafe(32)


@transaction.atomic
def webhook_create(
    *, owner, url: str, events: list[str], secret: str, is_active: bool = True, description: str = ""
) -> Webhook:
    webhook_clean(url=url, events=events, secret=secret, description=description, creating=True)
    return Webhook.objects.create(
        owner=owner,
        url=url,
        events=sorted(set(events)),
        secret=secret,
        is_active=is_active,
        description=description,
    )


@transaction.atomic
def webhook_update(*, webhook: Webhook, **changes) -> Webhook:
    """Change any of ``url``, ``events``, ``secret``, ``is_active``, ``description``."""
    webhook_clean(**{k: v for k, v in changes.items() if k != "is_active"}, creating=False)
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    for name, value in changes.items():
        setattr(webhook, name, value)
    webhook.save()
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


# --- queuing events ---------------------------------------------------------------------------------------


def _audience_admits(owner, audience: str, cache: dict) -> bool:
    if audience == ALL:
        return True
    if owner.pk not in cache:
        cache[owner.pk] = owner.is_active and may_read_restricted(owner)
    return cache[owner.pk] == (audience == READERS)


@transaction.atomic
def webhook_events_queue(*, event: str, items: Iterable[dict], audience: str = ALL) -> list[WebhookDelivery]:
    """One delivery per item and active webhook subscribed to ``event`` whose owner is in ``audience``
    (``readers``: may read restricted engagements; ``non_readers``: may not), sent after commit."""
    items = list(items)
    if not items:
        return []
    cache: dict[int, bool] = {}
    webhooks = [
        w
        for w in Webhook.objects.filter(is_active=True).select_related("owner")
        if event in w.events and _audience_admits(w.owner, audience, cache)
    ]
    if not webhooks:
        return []
    deliveries = []
    for data in items:
        event_id = WebhookDelivery._meta.get_field("event_id").default()
        deliveries += [WebhookDelivery(webhook=w, event_id=event_id, event=event, payload=data) for w in webhooks]
    deliveries = WebhookDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _send_all(ids))
    return deliveries


def _send_all(delivery_ids: list[int]) -> None:
    from webhooks.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id)
        except Exception:  # the broker is down: the change is saved; the delivery stays unsent, on record
            logger.exception("Could not queue webhook delivery %s", delivery_id)


def engagement_events_queue(*, event: str, engagement_ids: Iterable[int], was_restricted: dict | None = None) -> None:
    """Queue ``engagement.<event>`` for engagements that were created, updated or deleted, told to each
    webhook as its owner may know it (see the module's docstring)."""
    from webhooks.payloads import engagements_data

    if not Webhook.objects.filter(is_active=True).exists():
        return  # the usual case: one cheap query, nothing loaded
    was_restricted = was_restricted or {}
    event = f"engagement.{event}"
    groups: dict[tuple[str, str], list[dict]] = {}
    for engagement_id, data in engagements_data(engagement_ids).items():
        restricted = data["sensitivity"] == Sensitivity.RESTRICTED
        before = was_restricted.get(engagement_id, restricted)
        if not restricted and not before:
            groups.setdefault((event, ALL), []).append(data)
            continue
        groups.setdefault((event, READERS), []).append(data)
        if restricted and not before:
            groups.setdefault((WebhookEvent.ENGAGEMENT_WITHDRAWN.value, NON_READERS), []).append({"id": engagement_id})
        elif before and not restricted:
            groups.setdefault((WebhookEvent.ENGAGEMENT_CREATED.value, NON_READERS), []).append(data)
    for (name, audience), items in groups.items():
        webhook_events_queue(event=name, items=items, audience=audience)


def run_events_queue(*, run_id) -> None:
    """Queue ``run.finished`` for a run and ``alert.raised`` for each alert it raised."""
    from assessments.models import Alert, AssessmentRun
    from webhooks.payloads import alert_data, run_data

    if not Webhook.objects.filter(is_active=True).exists():
        return
    run = AssessmentRun.objects.get(pk=run_id)
    webhook_events_queue(event=WebhookEvent.RUN_FINISHED, items=[run_data(run)])
    if run.started_at is None:
        return
    alerts = Alert.objects.filter(scoring_model_id=run.scoring_model_id, raised_at__gte=run.started_at)
    if run.finished_at:
        alerts = alerts.filter(raised_at__lte=run.finished_at)
    webhook_events_queue(
        event=WebhookEvent.ALERT_RAISED,
        items=[alert_data(a) for a in alerts.select_related("partner").order_by("period", "partner__iso3")],
    )


# --- sending again, and a test event ---------------------------------------------------------------------


@transaction.atomic
def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, as a new series of attempts (after a receiver was fixed, or lost it).

    The same event (same ``id``, body and ``created``): a receiver that already has it drops the repeat. The
    counters start again so the retries with back-off apply once more; the last answer stays on record until
    the first new attempt replaces it.
    """
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    delivery.attempts, delivery.delivered_at = 0, None
    delivery.save(update_fields=["attempts", "delivered_at"])
    transaction.on_commit(lambda: _send_all([delivery.pk]))
    return delivery


@transaction.atomic
def webhook_test_send(*, webhook: Webhook, user) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to this webhook alone, whatever it subscribes to: the receiver checks its
    signature code, the administrator reads the answer in the delivery log."""
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=TEST_EVENT,
        payload={
            "webhook": webhook.pk,
            "requested_by": user.get_username(),
            "message": "A test event from the Engagement Tracker: check its signature, then answer 2xx.",
        },
    )
    transaction.on_commit(lambda: _send_all([delivery.pk]))
    return delivery


# --- sending one delivery -------------------------------------------------------------------------------


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``: the receiver recomputes it."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def delivery_body(delivery: WebhookDelivery) -> bytes:
    body = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created": delivery.created,
        "data": delivery.payload,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx comes back as an HTTPError: a redirect could lead to a host nobody allowed


# No proxies from the environment either: the address checked is the address called.
_opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def _record(delivery_id: int, **fields) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(**fields)


def webhook_delivery_send(*, delivery_id: int) -> WebhookDelivery:
    """POST one delivery, signed, and record the answer. Idempotent: a delivered one is not sent again.

    Raises ``WebhookDeliveryFailed`` when trying again may help (no connection, a timeout, a 5xx) and
    attempts are left; anything else (a 4xx, a redirect, an address no longer allowed) is final.
    """
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.delivered_at is not None or delivery.attempts >= MAX_ATTEMPTS:
        return delivery
    webhook = delivery.webhook
    if not webhook.is_active:
        problem = _("The webhook is inactive.")
    else:
        problem = rules.url_problem(webhook.url) or rules.resolved_address_problem(webhook.url)
    if problem:
        _record(delivery_id, error=problem)
        return delivery
    WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=F("attempts") + 1)
    body = delivery_body(delivery)
    request = urllib.request.Request(  # noqa: S310 (rules.url_problem admitted only http(s) to an allowed host)
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "EngagementTracker-Webhooks/1",
            "X-Engagement-Event": delivery.event,
            "X-Engagement-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: signature_header(secret=webhook.secret, body=body, timestamp=int(time.time())),
        },
    )
    transient = False
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status_code = response.status
        _record(delivery_id, status_code=status_code, delivered_at=timezone.now(), error="")
    except urllib.error.HTTPError as exc:
        status_code, transient = exc.code, exc.code >= 500
        if 300 <= exc.code < 400:
            error = _("The receiver answered %(code)s, a redirect; redirects are not followed.") % {"code": exc.code}
        else:
            error = _("The receiver answered %(code)s.") % {"code": exc.code}
        _record(delivery_id, status_code=status_code, error=error)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        transient = not isinstance(exc, ValueError)
        reason = getattr(exc, "reason", exc)
        _record(delivery_id, status_code=None, error=_("Could not reach the receiver: %(reason)s") % {"reason": reason})
    delivery.refresh_from_db()
    if transient and delivery.attempts < MAX_ATTEMPTS:
        raise WebhookDeliveryFailed(delivery.error)
    return delivery
