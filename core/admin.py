from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin as DRFTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from core.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "last_seen"]
    readonly_fields = ["worker", "last_seen"]


# Admins issue and revoke integrators' API tokens here; the user is picked by search, not from a list of all.
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(DRFTokenAdmin):
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
