"""A user's notifications (the inbox and the e-mails sent of them), their choices per kind, and what they follow."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notifications.choices import Delivery, NotificationKind


class Notification(models.Model):
    """Something a user should know or do: a report to write, an approval to give, a score that fell.

    ``key`` names the event (``approval_requested:42:3``); a user gets one notification per key, so a task
    or a signal that runs twice tells nobody twice. ``delivery`` is the e-mail the user chose when it was
    made; ``emailed_at`` stays empty until that e-mail went out (a failed attempt leaves it queued).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    key = models.CharField(_("key"), max_length=200)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"), blank=True)
    # What it says, worded when read in the reader's language (notifications.messages); ``title`` and
    # ``body`` keep the wording in the site's language (older notifications have no key: they show those).
    message = models.CharField(_("message"), max_length=50, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    delivery = models.CharField(_("e-mail"), max_length=20, choices=Delivery.choices, default=Delivery.NONE)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(_("e-mail attempts"), default=0)
    email_error = models.TextField(_("last e-mail error"), blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")]
        indexes = [
            # The header's unread count, on every page.
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
            # The mail sweeps: what is still to be e-mailed.
            models.Index(fields=["delivery"], condition=Q(emailed_at__isnull=True), name="notification_mail_queue"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def shown_title(self) -> str:
        """The title in the active language (the reader's)."""
        from notifications.messages import title_of

        return title_of(self.message, self.params or {}) or self.title

    @property
    def shown_body(self) -> str:
        from notifications.messages import text_of

        return text_of(self.message, self.params or {}) or self.body


class UserLanguage(models.Model):
    """The language a user last read the site in (set at login and on their inbox), so what is sent to them
    without a request of theirs (e-mails) speaks it too."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="notification_language"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("user language")
        verbose_name_plural = _("user languages")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"


class NotificationPreference(models.Model):
    """How a user wants to hear of one kind of notification: at once by e-mail, in a daily digest, or only in
    the inbox. No row: the default of the kind (``choices.DEFAULT_DELIVERY``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    delivery = models.CharField(_("delivery"), max_length=20, choices=Delivery.choices)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.delivery}"


class Follow(models.Model):
    """An analyst follows a UN M49 region or an organization: score alerts of its partners reach their inbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    region = models.CharField(_("region"), max_length=100, blank=True)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        ordering = ["region", "organization__acronym"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(region="") & Q(organization__isnull=False))
                | (~Q(region="") & Q(organization__isnull=True)),
                name="follow_region_or_organization",
            ),
            models.UniqueConstraint(fields=["user", "region"], condition=~Q(region=""), name="follow_region_once"),
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=Q(organization__isnull=False),
                name="follow_organization_once",
            ),
        ]

    def __str__(self) -> str:
        return self.region or str(self.organization_id)
