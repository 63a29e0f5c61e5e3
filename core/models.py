import functools

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


@functools.lru_cache(maxsize=512)
def _choice_labels(field, language: str | None) -> dict:
    """A field's choices as ``{value: label}`` in one language, the labels translated once."""
    with translation.override(language):
        return {value: str(label) for value, label in field.flatchoices}


class ChoiceLabels:
    """``get_FOO_display`` read from a table built once per field and language. Django's builds a dict of
    the field's choices on every call, translating each label (a list of 50 engagements asked for about
    2,000 translations that way); the text given is the same."""

    def _get_FIELD_display(self, field):
        try:
            return _choice_labels(field, translation.get_language())[getattr(self, field.attname)]
        except (KeyError, TypeError):  # a value not among the choices (or not hashable): Django's answer
            return super()._get_FIELD_display(field)


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran a task: tells operators whether background scoring is alive."""

    worker = models.CharField(_("worker"), max_length=200, unique=True)
    last_seen = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class ApiToken(AbstractAuthToken):
    """A key an integrator's system uses to call the API as its user.

    Only a hash of the secret is stored (django-rest-knox); the secret is shown once, when the token is made.
    A token lives until its expiry, until its owner revokes it, or until its user's password changes: it
    carries a fingerprint of the password hash it was made under, so a new password, set by any path (the
    account page, the admin, ``changepassword``), leaves it dead. A deactivated user's tokens stop working too.
    """

    # A plain id for URLs and lists (knox keys tokens by their hash, which has no place in a URL).
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True, editable=False)
    token_key = models.CharField(
        max_length=CONSTANTS.MAXIMUM_TOKEN_PREFIX_LENGTH + CONSTANTS.TOKEN_KEY_LENGTH, db_index=True, editable=False
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expiry = models.DateTimeField(_("expires"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    password_fingerprint = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.user} · {self.name or self.pk}"

    @staticmethod
    def fingerprint(user, *, secret: str | None = None) -> str:
        """An HMAC of the user's password hash: changes whenever the password does, and reveals nothing of it."""
        return salted_hmac(
            "core.ApiToken.password_fingerprint", user.password, secret=secret, algorithm="sha256"
        ).hexdigest()

    @classmethod
    def fingerprints(cls, user) -> list[str]:
        """The user's current fingerprint under the secret key and each fallback key (during a key rotation)."""
        return [cls.fingerprint(user, secret=key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]

    def is_live(self) -> bool:
        """Not expired, and made under the user's current password. (Whether the user is active is asked too,
        by the authentication, which answers inactive users with its own message.)"""
        if self.expiry <= timezone.now():
            return False
        return any(constant_time_compare(self.password_fingerprint, f) for f in self.fingerprints(self.user))


def _register_user_history() -> None:
    """Changes to user accounts are audited like domain data (never the password hash, nor logins)."""
    from django.contrib.auth import get_user_model
    from simple_history import register
    from simple_history.models import HistoricalRecords

    class UserHistoricalRecords(HistoricalRecords):
        """A login saves only ``last_login`` (``update_fields``): no change anyone audits, and it made one
        empty "changed" row per login, burying the real changes."""

        def post_save(self, instance, created, using=None, **kwargs):
            update_fields = kwargs.get("update_fields")
            if not created and update_fields and set(update_fields) <= {"last_login"}:
                return
            super().post_save(instance, created, using=using, **kwargs)

    register(
        get_user_model(), app="core", records_class=UserHistoricalRecords, excluded_fields=["password", "last_login"]
    )


_register_user_history()


class IdempotentRequest(models.Model):
    """A POST sent with an ``Idempotency-Key``: its fingerprint, and once answered with a success, that answer,
    replayed to the same user sending the same key and body within 24 hours (core/api/writes.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of the method, path and body."))
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("Empty while in progress."))
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_user_key")]

    def __str__(self):
        return f"{self.user_id}:{self.key}"


class Unit(models.Model):
    """An organisational unit that owns engagements: a command, one of its components, an office.

    Units form a tree (``parent``). A planner writes the engagements owned by their units and by every unit
    below them; an approver approves those same engagements (engagements/rules.py). Users belong to units
    through ``members``; ``code`` is the public key (URLs, the API, import files).
    """

    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(
        _("code"), max_length=40, unique=True, help_text=_("Short unique key, e.g. AFRICOM-J5 (letters, digits, -, _).")
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="units"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="unit_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"
