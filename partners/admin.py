from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from partners.models import PartnerNation


@admin.register(PartnerNation)
class PartnerNationAdmin(SimpleHistoryAdmin):
    """Reference data: only administrators edit it, and every edit is kept with who and when."""

    list_display = ["name", "iso3", "iso2", "iso_numeric", "region", "subregion"]
    list_filter = ["region", "subregion"]
    search_fields = ["name", "official_name", "iso3", "iso2", "iso_numeric"]
    ordering = ["name"]
