"""The admin obeys the services: it is no side door around the rules, the history or the scores.

Engagements and their participants are read-only here (they are written on the pages, the API or an
import); deleting one asks for the reason and goes through ``engagement_delete`` (a soft delete with who,
when and why). A report's fields may be corrected, through the services' check and write
(``after_action_clean``, ``after_action_submit``), so the change is in the history and the partners' scores
are recomputed; a report is never added or removed here.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from engagements import rules, services
from engagements.forms import DeleteForm
from engagements.models import AfterActionReport, Engagement, ExerciseSeries, Participation, PartnerChange


class _ReadOnly:
    """No add, change or delete through the admin's own forms (nor a history revert, which saves)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        raise PermissionDenied


class ParticipationInline(_ReadOnly, admin.TabularInline):
    model = Participation
    extra = 0
    fields = readonly_fields = rules.PARTICIPANT_FIELDS

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Engagement)
class EngagementAdmin(_ReadOnly, SimpleHistoryAdmin):
    list_display = [
        "reference",
        "title",
        "engagement_type",
        "status",
        "start_date",
        "end_date",
        "host_country",
        "sensitivity",
        "owner_unit",
        "point_of_contact",
        "deleted_at",
    ]
    list_filter = ["status", "engagement_type", "domain", "sensitivity", "owner_unit", "series"]
    search_fields = ["reference", "title", "location_name"]
    date_hierarchy = "start_date"
    list_select_related = ["host_country", "owner_unit", "point_of_contact"]
    inlines = [ParticipationInline]

    def has_delete_permission(self, request, obj=None):
        # The unit scope, as on every path: a planner deletes only the engagements of their units and below.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or rules.may_write(request.user, obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk hard delete; each deletion needs its reason
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        engagement = self.get_object(request, unquote(object_id))
        if engagement is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, engagement):
            raise PermissionDenied
        form = DeleteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.engagement_delete(engagement=engagement, user=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as error:
                form.add_error("reason", error.messages)
            else:
                self.message_user(
                    request,
                    _("Engagement %(reference)s deleted. It stays on record with your reason.")
                    % {"reference": engagement.reference},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:engagements_engagement_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": engagement,
            "form": form,
            "title": _("Delete %(reference)s") % {"reference": engagement.reference},
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/engagements/engagement/delete_with_reason.html", context)


@admin.register(ExerciseSeries)
class ExerciseSeriesAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "lead_organization"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class AfterActionReportAdminForm(forms.ModelForm):
    """The report's fields, checked by the service's check step (the same rules as pages and API)."""

    class Meta:
        model = AfterActionReport
        fields = rules.AAR_FIELDS

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None and not self.errors:
            try:
                services.after_action_clean(engagement=self.instance.engagement, has_report=True, **self.changes())
            except ValidationError as error:
                for name, messages_ in error.message_dict.items():
                    field = name.removeprefix("after_action.")
                    self.add_error(field if field in self.fields else None, messages_)
        return cleaned

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in rules.AAR_FIELDS}


@admin.register(AfterActionReport)
class AfterActionReportAdmin(SimpleHistoryAdmin):
    form = AfterActionReportAdminForm
    list_display = [
        "engagement",
        "interoperability_rating",
        "capacity_rating",
        "trust_rating",
        "submitted_at",
        "submitted_by",
    ]
    readonly_fields = ["engagement", "submitted_by", "submitted_at"]
    list_select_related = ["engagement", "submitted_by"]

    def has_add_permission(self, request, obj=None):
        return False  # a report is submitted for its engagement, on its page or through the API

    def has_delete_permission(self, request, obj=None):
        return False  # a report, once written, is never removed

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or rules.may_write(request.user, obj.engagement))

    def save_model(self, request, obj, form, change):
        # Through the service: history with the user, a new version, and the partners' scores recomputed.
        services.after_action_submit(engagement=obj.engagement, user=request.user, **form.changes())


@admin.register(PartnerChange)
class PartnerChangeAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["partner", "first_day", "last_day", "changed_at", "processed_at"]
    list_filter = ["processed_at"]
    raw_id_fields = ["engagement", "partner"]
