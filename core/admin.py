from django.contrib import admin

from core.models import ApiToken, Unit, WorkerHeartbeat


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    """Units and their members: assign users to units here (or on the units pages, or with the API)."""

    list_display = ["code", "name", "parent"]
    list_select_related = ["parent"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    filter_horizontal = ["members"]
    fields = ["code", "name", "parent", "members"]

    def save_model(self, request, obj, form, change):
        from core.services import unit_save

        # Through the service: the parent may not be the unit itself nor one below it.
        saved = unit_save(unit=obj if change else None, code=obj.code, name=obj.name, parent=obj.parent)
        obj.pk = saved.pk


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "last_seen"]
    readonly_fields = ["worker", "last_seen"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see who holds which token and may revoke one (delete). Tokens are made by their users (the
    account page or the API), so the admin never creates one and never shows any part of a secret: not the
    hash, not the stored lookup prefix."""

    list_display = ["user", "name", "created", "expiry", "last_used"]
    list_select_related = ["user"]
    list_filter = ["expiry"]
    search_fields = ["user__username", "name"]
    fields = ["user", "name", "created", "expiry", "last_used"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
