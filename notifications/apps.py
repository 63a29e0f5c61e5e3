from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        # Listen to what the engagements and assessments apps announce after commit; neither imports us.
        from notifications import receivers  # noqa: F401
