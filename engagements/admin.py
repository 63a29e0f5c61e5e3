from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation, PartnerChange


class ParticipationInline(admin.TabularInline):
    model = Participation
    extra = 0
    autocomplete_fields = ["partner"]


@admin.register(Engagement)
class EngagementAdmin(SimpleHistoryAdmin):
    list_display = [
        "reference",
        "title",
        "engagement_type",
        "status",
        "start_date",
        "end_date",
        "host_country",
        "sensitivity",
        "deleted_at",
    ]
    list_filter = ["status", "engagement_type", "domain", "sensitivity", "series"]
    search_fields = ["reference", "title", "location_name"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["host_country", "organizations", "series"]
    readonly_fields = [
        "reference",
        "version",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
        "deleted_at",
        "deleted_by",
        "deletion_reason",
    ]
    list_select_related = ["host_country"]
    inlines = [ParticipationInline]


@admin.register(ExerciseSeries)
class ExerciseSeriesAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "lead_organization"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(AfterActionReport)
class AfterActionReportAdmin(SimpleHistoryAdmin):
    list_display = [
        "engagement",
        "interoperability_rating",
        "capacity_rating",
        "trust_rating",
        "submitted_at",
        "submitted_by",
    ]
    raw_id_fields = ["engagement"]
    list_select_related = ["engagement", "submitted_by"]


@admin.register(PartnerChange)
class PartnerChangeAdmin(admin.ModelAdmin):
    list_display = ["partner", "first_day", "last_day", "changed_at", "processed_at"]
    list_filter = ["processed_at"]
    raw_id_fields = ["engagement", "partner"]
