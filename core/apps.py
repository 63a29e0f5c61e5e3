from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core: roles, health and demo data")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from core.hostile import install_null_character_guard
        from core.services import roles_sync

        # A NUL on its way to PostgreSQL becomes a field error, not a 500 (core/hostile.py).
        connection_created.connect(install_null_character_guard, dispatch_uid="core.null_character_guard")

        def _sync_roles(sender, using="default", **kwargs):
            roles_sync(using=using)

        # Connected without a sender and deduplicated: it must run after every app's permissions exist,
        # whichever app's migrations ran last.
        post_migrate.connect(_sync_roles, dispatch_uid="core.roles_sync", weak=False)
