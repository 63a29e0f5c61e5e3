"""What notifications say, by message key: each notification stores its key and parameters and is worded
when it is read, in the reader's language (the inbox and the API in the request's language, e-mails in the
recipient's: ``language_of``). The title and text stored with it, worded in the site's language when it was
made, are what older notifications (made before keys) and the admin show.

The strings are marked with ``gettext_noop`` so that ``makemessages`` finds them; ``gettext`` translates
them when worded.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# key: (title, text or None when the text is the stored one, e.g. an approver's comment)
MESSAGES: dict[str, tuple[str, str | None]] = {
    "report_due": (
        gettext_noop("After-action report due by %(date)s: %(reference)s %(title)s"),
        gettext_noop("Write it on the engagement's page."),
    ),
    "report_overdue": (
        gettext_noop("After-action report overdue since %(date)s: %(reference)s %(title)s"),
        gettext_noop("Write it on the engagement's page."),
    ),
    "approval_requested": (
        gettext_noop("Approval requested: %(reference)s %(title)s"),
        gettext_noop("%(who)s asks you to approve this engagement."),
    ),
    "approval_requested_anonymously": (
        gettext_noop("Approval requested: %(reference)s %(title)s"),
        gettext_noop("A planner asks you to approve this engagement."),
    ),
    "approval_given": (gettext_noop("Approved: %(reference)s %(title)s"), None),
    "approval_refused": (gettext_noop("Approval refused: %(reference)s %(title)s"), None),
    "alert_raised": (
        gettext_noop("Score alert: %(partner)s fell %(delta).1f points in %(period)s"),
        gettext_noop("Overall %(before).1f to %(after).1f."),
    ),
}


def _worded(template: str, params: dict) -> str:
    try:
        return _(template) % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder: the English wording
        return template % params


def title_of(message: str, params: dict) -> str | None:
    """The title of ``message`` in the active language; None for an unknown key."""
    if message not in MESSAGES:
        return None
    return _worded(MESSAGES[message][0], params)


def text_of(message: str, params: dict) -> str | None:
    """The text of ``message`` in the active language; None when it has none of its own (or is unknown)."""
    if message not in MESSAGES or MESSAGES[message][1] is None:
        return None
    return _worded(MESSAGES[message][1], params)


def stored_wording(message: str, params: dict, body: str = "") -> tuple[str, str]:
    """The title and text stored with a new notification: worded in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return title_of(message, params) or message, text_of(message, params) or body


def language_of(user) -> str:
    """The language ``user`` reads the site in (remembered from their last visit: ``UserLanguage``), else
    the site's."""
    from notifications.models import UserLanguage

    known = dict(settings.LANGUAGES)
    stored = UserLanguage.objects.filter(user_id=getattr(user, "pk", user)).values_list("language", flat=True).first()
    return stored if stored in known else settings.LANGUAGE_CODE
