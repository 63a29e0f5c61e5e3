"""The roles table for API operations, expressed with the Django permissions that core/roles.py gives groups."""

from rest_framework import permissions

# Which model permission an action needs; views may add their own actions in ``action_permissions``.
ACTION_VERBS = {
    "list": "view",
    "retrieve": "view",
    "metadata": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class ModelRolePermission(permissions.BasePermission):
    """``<app>.view_<model>`` to read, ``add``/``change``/``delete`` to write, as the action requires.

    The model is the view's ``permission_model`` (or its queryset's model). Custom actions name their verb in
    the view's ``action_permissions`` ({"status": "change"}); an unknown action needs ``change`` unless it is
    a safe method. Methods the view does not serve fall through, so the client gets 405, not 403.
    """

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action is None and request.method not in permissions.SAFE_METHODS:
            return True  # not routed: DRF answers 405 Method Not Allowed
        verb = getattr(view, "action_permissions", {}).get(action) or ACTION_VERBS.get(action)
        if verb is None:
            verb = "view" if request.method in permissions.SAFE_METHODS else "change"
        model = getattr(view, "permission_model", None) or view.get_queryset().model
        return user.has_perm(f"{model._meta.app_label}.{verb}_{model._meta.model_name}")
