from django.db import models
from django.utils.translation import gettext_lazy as _


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
