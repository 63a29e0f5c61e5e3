from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core: roles, health and demo data")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from core.audit import register_user_subject
        from core.hostile import install_null_character_guard
        from core.services import default_unit_ensure, roles_sync

        register_user_subject()
        # A NUL on its way to PostgreSQL becomes a field error, not a 500 (core/hostile.py).
        connection_created.connect(install_null_character_guard, dispatch_uid="core.null_character_guard")

        def _sync_roles(sender, using="default", **kwargs):
            roles_sync(using=using)
            default_unit_ensure(using=using)

        # Connected without a sender and deduplicated: it must run after every app's permissions exist,
        # whichever app's migrations ran last.
        post_migrate.connect(_sync_roles, dispatch_uid="core.roles_sync", weak=False)

        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        def _deactivated_users_lose_their_tokens(sender, instance, **kwargs):
            # A deactivated user's tokens are refused at once by the authentication; deleting them here makes
            # that final, so reactivating the account does not bring old tokens back to life. Any path that
            # saves the user (admin, shell, a service) passes here.
            if not instance.is_active:
                from core.models import ApiToken

                ApiToken.objects.filter(user=instance).delete()

        post_save.connect(
            _deactivated_users_lose_their_tokens,
            sender=get_user_model(),
            dispatch_uid="core.deactivated_users_lose_their_tokens",
            weak=False,
        )

        from django.db.models.signals import m2m_changed, post_delete

        from core import page_cache

        def _domain_data_written(sender, using=DEFAULT_DB_ALIAS, **kwargs):
            # A save or delete of reference data, objectives, alerts or scoring models makes the cached
            # dashboards stale (core/page_cache.py); engagement writes announce themselves through the change
            # outbox (per partner), and what a run writes through its end.
            if page_cache.bumps_data(sender._meta.app_label, sender._meta.model_name):
                page_cache.data_bump_on_commit(using)
            elif page_cache.bumps_engagements(sender._meta.app_label, sender._meta.model_name):
                page_cache.data_bump_on_commit(using, tag=page_cache.ENGAGEMENTS)

        for signal in (post_save, post_delete, m2m_changed):
            signal.connect(_domain_data_written, dispatch_uid="core.page_cache", weak=False)

        from core import user_facts

        # A user's permissions and groups kept in the shared cache are dropped by any change to them.
        user_facts.connect()
