"""One filter class for the engagement list page, its CSV/XLSX export and /api/v1/engagements/."""

import datetime

import django_filters
from django.conf import settings
from django.db import connections
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import InSubqueryList
from core.filters import (
    MultiValueChoiceFilter,
    MultiValueFilter,
    StableOrderingFilter,
    StrictBooleanFilter,
    values_of,
)
from core.models import Unit
from engagements import rules
from engagements.choices import Domain, EngagementType, Sensitivity, Status
from engagements.models import Engagement, Participation
from engagements.rules import REFERENCE_PATTERN, needs_update
from engagements.search import search
from engagements.selectors import AAR_OVERDUE_DAYS, RECENT_DAYS, UPCOMING_DAYS
from partners.models import PartnerNation

VIEWS = [
    ("current", _("Current")),
    ("upcoming", _("Upcoming (90 days)")),
    ("mine", _("Mine")),
    ("recent", _("Recently changed")),
]

# The views whose rows depend on who asks ("mine") or on the moment, not the day ("recent": changed in the
# last days, counted from now): a list showing one is never cached.
UNCACHED_VIEWS = frozenset({"mine", "recent"})


def never_cached(query) -> bool:
    """Whether the list this query string (a QueryDict) asks for depends on more than the data, the user's
    permissions and the day (``UNCACHED_VIEWS``): it is then never kept (core/page_cache.py, "Lists")."""
    return any(view in UNCACHED_VIEWS for view in query.getlist("view"))


def partners_taking_part(codes: list[str], busy_from: int, *, using: str) -> tuple[list[int], bool]:
    """The ids of the partners with these ISO codes, and whether they have ``busy_from`` or more
    participations together (counted no further: at most ``busy_from`` index entries are read), in one query.

    Either answer gives the same rows; it chooses how they are found. Reading the ids of the partners'
    engagements first suits a rare partner, and costs what reading them costs for a busy one (the USA's
    311,432 at a million engagements); probing each engagement in the list's order stops after the page,
    about 3 probes a row for a partner in a third of the engagements, but reads far for a rare one."""
    codes = [code for code in codes if "\x00" not in code]  # no code holds one (nor can the database's text)
    if not codes:
        return [], False
    busy_from = max(1, busy_from)
    partners = PartnerNation.objects.using(using).filter(iso3__in=codes).values("pk")
    ids_sql, ids_params = partners.query.sql_with_params()
    capped = Participation.objects.using(using).filter(partner__in=partners).order_by().values("pk")[:busy_from]
    if connections[using].vendor != "postgresql":
        return sorted(partners.values_list("pk", flat=True)), capped.count() >= busy_from
    count_sql, count_params = capped.query.sql_with_params()
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT ARRAY({ids_sql}), (SELECT COUNT(*) FROM ({count_sql}) AS capped)",  # noqa: S608 (Django's SQL)
            (*ids_params, *count_params),
        )
        ids, taking_part = cursor.fetchone()
    return sorted(ids), taking_part >= busy_from


class EngagementFilterSet(django_filters.FilterSet):
    """Filters, search and views of the engagement list; the page passes ``request`` (as the API does) for
    the views that depend on the user ("mine")."""

    q = django_filters.CharFilter(
        method="filter_q",
        label=_("Search"),
        help_text=_(
            "Every word must match the start of a word, in any order, without accents or case: title, reference, "
            "location, description, series, or the host's or a participant's name, alias or ISO code. Best match "
            "first unless an order is chosen; when more match than are counted exactly (count_estimated), latest "
            "start first"
        ),
    )
    view = django_filters.ChoiceFilter(
        method="filter_view",
        choices=VIEWS,
        empty_label=_("All"),
        label=_("View"),
        help_text=_(
            "current: under way today; upcoming: starting in the next 90 days; mine: created by me; "
            "recent: changed in the last 30 days, latest change first"
        ),
    )
    engagement_type = MultiValueChoiceFilter(choices=EngagementType.choices, distinct=False, label=_("Type"))
    status = MultiValueChoiceFilter(choices=Status.choices, distinct=False, label=_("Status"))
    domain = MultiValueChoiceFilter(choices=Domain.choices, distinct=False, label=_("Domain"))
    sensitivity = MultiValueChoiceFilter(choices=Sensitivity.choices, distinct=False, label=_("Sensitivity"))
    partner = MultiValueFilter(
        method="filter_partner", label=_("Partner"), help_text=_("ISO alpha-3 code of a participant")
    )
    organization = MultiValueFilter(
        method="filter_organization", label=_("Organization"), help_text=_("Acronym of a framework")
    )
    host_country = MultiValueFilter(
        field_name="host_country__iso3", lookup_expr="iexact", label=_("Host country"), help_text=_("ISO alpha-3 code")
    )
    series = MultiValueFilter(
        field_name="series__slug",
        lookup_expr="iexact",
        label=_("Series"),
        help_text=_("Series slug, e.g. african-lion"),
    )
    owner_unit = MultiValueFilter(
        method="filter_owner_unit",
        label=_("Owner unit"),
        help_text=_("Unit code; with sub_units=true, its sub-units too"),
    )
    sub_units = StrictBooleanFilter(
        method="filter_nothing", label=_("Include sub-units"), help_text=_("With owner_unit: the units below it too")
    )
    point_of_contact = MultiValueFilter(
        field_name="point_of_contact__username",
        lookup_expr="exact",
        label=_("Point of contact"),
        help_text=_("Username"),
    )
    start_after = django_filters.DateFilter(field_name="start_date", lookup_expr="gte", label=_("Starts on or after"))
    start_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte", label=_("Starts on or before"))
    # With start_before, "running on or after": the calendar links to everything under way on one day.
    end_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte", label=_("Ends on or after"))
    aar_overdue = StrictBooleanFilter(
        method="filter_aar_overdue",
        label=_("After-action report overdue"),
        help_text=_("Completed more than 30 days ago without an after-action report"),
    )
    needs_update = StrictBooleanFilter(
        method="filter_needs_update",
        label=_("Status needs an update"),
        help_text=_("Still planned or approved after the end date"),
    )
    import_batch = django_filters.NumberFilter(
        field_name="import_batch_id",
        label=_("Import batch"),
        help_text=_("The engagements an import created or changed (its batch id)"),
    )
    ordering = StableOrderingFilter(
        fields=(
            ("start_date", "date"),
            ("title", "title"),
            ("status", "status"),
            ("reference", "reference"),
            ("end_date", "end_date"),
            ("engagement_type", "type"),
            ("host_country__name", "host_country"),
            ("owner_unit__code", "owner_unit"),
        ),
        label=_("Order by"),
    )

    class Meta:
        model = Engagement
        fields = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if REFERENCE_PATTERN.match(value.upper()):
            # A whole reference finds that engagement, by the reference's unique index.
            return queryset.filter(reference=value.upper())
        # Every word, in any order, as a word's start, without accents or case, in the texts and the
        # series and countries' names (engagements/search.py). Ranked unless the user chose an order.
        return search(queryset, value, rank=not values_of(self.data or {}, "ordering"))

    def filter_view(self, queryset, name, value):
        today = timezone.localdate()
        if value == "current":
            return queryset.filter(start_date__lte=today, end_date__gte=today)
        if value == "upcoming":
            return queryset.filter(start_date__gt=today, start_date__lte=today + datetime.timedelta(days=UPCOMING_DAYS))
        if value == "mine":
            return self.mine(queryset)
        if value == "recent":
            since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
            recent = queryset.filter(updated_at__gte=since)
            # Latest change first, unless the user chose an order (the ordering filter runs after this one).
            return recent if values_of(self.data or {}, "ordering") else recent.order_by("-updated_at", "-id")
        return queryset

    def mine(self, queryset):
        """The user's own engagements (created by them, or they are its point of contact): the one place that
        says what "mine" means."""
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return queryset.none()
        return queryset.filter(Q(created_by=user) | Q(point_of_contact=user))

    def filter_partner(self, queryset, name, value):
        codes = [code.upper() for code in value]
        if not codes:
            return queryset
        partner_ids, busy = partners_taking_part(codes, settings.LIST_PARTNER_PROBE_FROM, using=queryset.db)
        if not partner_ids:
            return queryset.none()
        taking_part = Participation.objects.filter(partner_id__in=partner_ids).order_by()
        if busy:
            # Many engagements match: the list's order reads its indexes and probes each engagement's
            # participations (participation_unique_partner), stopping when the page or the capped count is full.
            return queryset.filter(Exists(taking_part.filter(engagement=OuterRef("pk"))))
        # Few match: their ids first, then those engagements by id (core.db.InSubqueryList).
        return queryset.filter(InSubqueryList(F("pk"), Subquery(taking_part.values("engagement_id"))))

    def filter_organization(self, queryset, name, value):
        acronyms = value
        if not acronyms:
            return queryset
        through = Engagement.organizations.through
        condition = Q()
        for acronym in acronyms:
            condition |= Q(organization__acronym__iexact=acronym)
        return queryset.filter(Exists(through.objects.filter(condition, engagement=OuterRef("pk"))))

    def filter_needs_update(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(needs_update()) if value else queryset.exclude(needs_update())

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_owner_unit

    def filter_owner_unit(self, queryset, name, value):
        codes = [code for code in value if "\x00" not in code]
        if not codes:
            return queryset
        condition = Q()
        for code in codes:
            condition |= Q(code__iexact=code)
        unit_ids = list(Unit.objects.filter(condition).values_list("pk", flat=True))
        if self.form.cleaned_data.get("sub_units"):
            unit_ids = rules.units_below(unit_ids)
        return queryset.filter(owner_unit_id__in=unit_ids)

    def filter_aar_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        cutoff = timezone.localdate() - datetime.timedelta(days=AAR_OVERDUE_DAYS)
        overdue = Q(status=Status.COMPLETED, end_date__lt=cutoff, after_action__isnull=True)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
