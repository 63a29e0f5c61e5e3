from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        # Listen to what the engagements and assessments apps announce after commit; neither imports us.
        from webhooks import receivers  # noqa: F401
