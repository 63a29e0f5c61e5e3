"""A signed-in user's permissions and groups, read from the shared cache instead of the database on every
request (issue 22: a cached dashboard or API list paid three queries for them, a sixth of its work).

**What is kept**, per user and superuser flag: Django's ``ModelBackend`` permissions (the user's own and
their groups') and the names of their groups (their role, ``core.roles.role_of``). ``prime`` puts them on
the request's user object, where ``ModelBackend`` looks first (the same attributes it fills itself on its
first check), so every permission check of the request reads them: the pages, the API's permission classes,
the visibility class of a cached page. ``is_active`` and ``is_superuser`` are read from the user's row on
every request as before (an inactive user has no permission whatever is kept; the flag is in the key).

**When it changes**: the ``auth`` tag (``core.page_cache``) is bumped after the commit of any change to a
group membership, a user's or a group's permissions, a group, a permission, or a user (but a login's
``last_login``), and an entry is used only while the tag has the version it was computed at: a user
removed from a group has lost its permissions on their next request. A reader reads the tag *before* the
database, and the bump comes after commit, so no entry can hold data older than its version
(``core.page_cache`` has the same argument for pages). ``FACTS_SECONDS`` bounds an entry's life anyway.

Off with the dashboard cache (``DASHBOARD_CACHE_SECONDS`` 0, no shared cache) and with Redis unreachable:
then ``ModelBackend`` reads the database as it always did.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save

from core import page_cache

AUTH = "auth"
FACTS_SECONDS = 3600
_backend = ModelBackend()


def _key(user) -> str:
    return f"auth:facts:{user.pk}:{int(user.is_superuser)}"


def prime(user) -> None:
    """Put ``user``'s permissions and group names on the object for this request, from the cache when its
    entry is current (computed and stored otherwise). Does nothing when already done, for anonymous or
    inactive users, or without the cache."""
    if not page_cache.enabled() or not user.is_authenticated or not user.is_active or hasattr(user, "_group_names"):
        return
    key = _key(user)
    versions = page_cache.tag_versions([AUTH], with_key=key)  # one round trip for both
    if versions is None:
        return
    version, entry = versions[AUTH], versions.get(key)
    if entry is not None and entry[0] == version:
        _version, user_permissions, group_permissions, names = entry
        user._user_perm_cache, user._group_perm_cache = set(user_permissions), set(group_permissions)
        user._perm_cache = {*user_permissions, *group_permissions}
    else:
        user_permissions = _backend.get_user_permissions(user)
        group_permissions = _backend.get_group_permissions(user)
        names = frozenset(user.groups.values_list("name", flat=True))
        cache.set(key, (version, frozenset(user_permissions), frozenset(group_permissions), names), FACTS_SECONDS)
    user._group_names = frozenset(names)


def primed(user):
    """``user``, primed (``prime``): for a lazy ``request.user``."""
    prime(user)
    return user


def group_names(user) -> frozenset[str]:
    """The names of the user's groups: primed for this request, or read once and kept on the object, as
    ``ModelBackend`` keeps the permissions it reads (a user not primed: an API token's, a command's, or any
    without the shared cache; an import asked for each approved row, 14,421 queries for 100,000 rows)."""
    names = getattr(user, "_group_names", None)
    if names is None:
        names = frozenset(group.name for group in user.groups.all())
        if getattr(user, "pk", None) is not None:
            user._group_names = names
    return names


def _changed(sender=None, **kwargs) -> None:
    if sender is get_user_model() and kwargs.get("update_fields") == frozenset({"last_login"}):
        return  # a login: nothing kept here depends on it
    instance = kwargs.get("instance")
    if isinstance(instance, get_user_model()):  # ``user.groups.add(...)``: that object's names are read again
        instance.__dict__.pop("_group_names", None)
    page_cache.data_bump_on_commit(using=kwargs.get("using") or "default", tag=AUTH)


def connect() -> None:
    """Bump ``auth`` on every change the kept facts depend on (called once, from core's AppConfig.ready)."""
    user_model = get_user_model()
    throughs = [user_model.groups.through, user_model.user_permissions.through, Group.permissions.through]
    for through in throughs:
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"user-facts-m2m-{through._meta.label}")
    # Rows of the through tables written directly (``through.objects...delete()``) send no signal (Django
    # sends none for auto-created models): nothing in the application writes them that way.
    for model in [user_model, Group, Permission]:
        post_save.connect(_changed, sender=model, dispatch_uid=f"user-facts-save-{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"user-facts-delete-{model._meta.label}")
