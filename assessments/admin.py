from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from assessments.models import Alert, AssessmentRun, Indicator, Measurement, Objective, PartnerScore, ScoringModel


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0


@admin.register(Objective)
class ObjectiveAdmin(SimpleHistoryAdmin):
    list_display = ["title", "partner", "line_of_effort", "status", "target_date"]
    list_filter = ["line_of_effort", "status"]
    search_fields = ["title", "partner__name", "partner__iso3"]
    list_select_related = ["partner"]
    autocomplete_fields = ["partner"]
    inlines = [IndicatorInline]


@admin.register(Indicator)
class IndicatorAdmin(SimpleHistoryAdmin):
    list_display = ["name", "objective", "unit", "baseline_value", "target_value"]
    search_fields = ["name", "objective__title"]
    list_select_related = ["objective"]


@admin.register(Measurement)
class MeasurementAdmin(SimpleHistoryAdmin):
    list_display = ["indicator", "date", "value", "source"]
    list_select_related = ["indicator"]
    date_hierarchy = "date"


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    """Versions are read here, never made or switched: a new version is an analyst's draft an admin activates
    on /assessments/scoring-models/ (which computes its scores first), and a version's parameters stay those
    its scores were computed with. Only the description is edited here."""

    list_display = ["version", "is_active", "half_life_days", "lookback_quarters", "activity_scale", "created_at"]
    readonly_fields = [f.name for f in ScoringModel._meta.fields if f.name != "description"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AssessmentRun)
class AssessmentRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "status", "trigger", "requested_by", "partners_scored", "finished_at"]
    list_filter = ["status", "trigger"]
    readonly_fields = [f.name for f in AssessmentRun._meta.fields]

    def has_add_permission(self, request):
        return False  # runs are started from the runs page, the API or the command


@admin.register(PartnerScore)
class PartnerScoreAdmin(admin.ModelAdmin):
    list_display = ["partner", "period", "scoring_model", "overall", "delta_overall", "engagement_count"]
    list_filter = ["scoring_model", "period"]
    search_fields = ["partner__name", "partner__iso3"]
    list_select_related = ["partner", "scoring_model"]

    def has_add_permission(self, request):
        return False  # scores are computed, never typed in

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["partner", "period", "delta_overall", "overall", "acknowledged_by", "acknowledged_at"]
    list_filter = ["scoring_model", "period"]
    list_select_related = ["partner", "acknowledged_by"]
