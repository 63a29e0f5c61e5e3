from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from organizations.models import Membership, Organization


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["acronym", "name", "kind", "parent", "headquarters", "founded"]
    list_filter = ["kind"]
    search_fields = ["acronym", "name"]
    autocomplete_fields = ["headquarters", "parent"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    """A suspension or readmission is a new row; closing a period means setting its "until" date."""

    list_display = ["organization", "partner", "status", "joined", "left", "source", "notes"]
    list_filter = ["organization", "status", "source"]
    search_fields = ["partner__name", "partner__iso3", "organization__acronym", "notes"]
    autocomplete_fields = ["organization", "partner"]
    list_select_related = ["organization", "partner"]
    date_hierarchy = "joined"

    def get_changeform_initial_data(self, request):
        return {**super().get_changeform_initial_data(request), "source": "user"}
