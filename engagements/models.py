import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.fields import IdArrayField
from core.models import ChoiceLabels
from engagements.choices import Domain, EngagementType, ParticipantRole, Sensitivity, Status


class ExerciseSeries(models.Model):
    """A recurring exercise (African Lion, Flintlock, BALTOPS ...): its iterations are compared year on year."""

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    lead_organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("lead organization"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exercise_series",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exercise series")
        verbose_name_plural = _("exercise series")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _between(low, high, message):
    return [MinValueValidator(low, message=message), MaxValueValidator(high, message=message)]


# The limits of what users enter. The services check every input against these fields (their validators,
# max_length, choices), so a limit changed here changes the pages, the API and the import alike.
DATE_RANGE = _between(datetime.date(1900, 1, 1), datetime.date(2100, 12, 31), _("Enter a date between 1900 and 2100."))
LONG_TEXT = 20000


def _user_field(verbose_name, *, db_index=True):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=verbose_name,
        db_index=db_index,
    )


def _coordinate(verbose_name, limit: int, message):
    """Degrees with 5 decimals (about a metre), within -limit and limit."""
    return models.DecimalField(
        verbose_name, max_digits=8, decimal_places=5, null=True, blank=True, validators=_between(-limit, limit, message)
    )


READ_RESTRICTED = "engagements.read_restricted_engagement"


def may_read_restricted(user) -> bool:
    """Whether ``user`` may see restricted engagements (analysts, planners, admins; never viewers).

    The one home of "restricted means invisible": every read asks this (or the two helpers below, which
    ask it), so a viewer learns nothing of a restricted engagement on any page, API answer, export or count.
    """
    return user is not None and user.has_perm(READ_RESTRICTED)


def readable_by(user, *, via: str = "") -> Q:
    """The condition on engagements (reached through the lookup ``via``, e.g. ``"engagements__"`` from a
    series or ``"engagement__"`` from a participation) that leaves out the restricted ones ``user`` may not
    read; an empty condition for users who may read them. Deleted engagements are not judged here."""
    if may_read_restricted(user):
        return Q()
    return ~Q(**{f"{via}sensitivity": Sensitivity.RESTRICTED})


class EngagementQuerySet(models.QuerySet):
    def live(self):
        """Not deleted. Deleted engagements stay in the database (with who, when and why) but vanish."""
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user):
        """What ``user`` may see: live engagements, restricted ones only with the permission for them."""
        return self.live().filter(readable_by(user))


# The columns of an engagement's history rows that no query reads by: not indexed (the live table's are).
HISTORY_UNINDEXED = [
    "reference",
    "host_country",
    "series",
    "owner_unit",
    "point_of_contact",
    "import_batch",
    "created_by",
    "updated_by",
    "deleted_by",
]


class Engagement(ChoiceLabels, models.Model):
    """One military engagement with partners: an exercise, a training exchange, an advisory mission ...

    ``reference`` (``ENG-2025-000123``) is what planners quote; the year is the start year.
    """

    # Found by its whole value (the unique index); the ``LIKE`` index Django adds to a unique text column served
    # no query (no prefix search on references) and cost every imported row (migration 0021).
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    engagement_type = models.CharField(_("type"), max_length=30, choices=EngagementType.choices)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    start_date = models.DateField(_("start date"), validators=DATE_RANGE)
    end_date = models.DateField(_("end date"), validators=DATE_RANGE)
    host_country = models.ForeignKey(
        "partners.PartnerNation",
        verbose_name=_("host country"),
        on_delete=models.PROTECT,
        related_name="hosted_engagements",
        db_index=False,  # engagement_host_start (host_country, start_date) serves it
    )
    location_name = models.CharField(_("location"), max_length=200, blank=True)
    latitude = _coordinate(_("latitude"), 90, _("Latitude must be between -90 and 90."))
    longitude = _coordinate(_("longitude"), 180, _("Longitude must be between -180 and 180."))
    organizations = models.ManyToManyField(
        "organizations.Organization", verbose_name=_("frameworks"), blank=True, related_name="engagements"
    )
    threat_focus = models.JSONField(_("threat focus"), default=list, blank=True)
    description = models.TextField(_("description"), max_length=LONG_TEXT, blank=True)
    budget_usd = models.DecimalField(
        _("budget (USD)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0, message=_("The budget cannot be negative."))],
    )
    funding_source = models.CharField(_("funding source"), max_length=120, blank=True)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=20, choices=Sensitivity.choices, default=Sensitivity.UNCLASSIFIED
    )
    series = models.ForeignKey(
        ExerciseSeries,
        verbose_name=_("series"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="engagements",
        db_index=False,  # engagement_series_start (series, start_date) serves it
    )
    owner_unit = models.ForeignKey(
        "core.Unit",
        verbose_name=_("owner unit"),
        on_delete=models.PROTECT,
        related_name="engagements",
        help_text=_("The unit that owns the engagement: its planners write it, its approvers approve it."),
        db_index=False,  # engagement_owner_start (owner_unit, start_date) serves it
    )
    point_of_contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("point of contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_engagements",
        help_text=_("Who answers questions about the engagement and writes its after-action report."),
        db_index=False,  # engagement_contact, only the rows that name one (Meta)
    )
    # Who created, changed or deleted it: shown with it, never searched by, so not indexed (each index costs
    # every imported row: bench/README.md, migration 0021). Deleting a user clears them with a scan of the
    # table, as it already does in the history, whose user columns are not indexed either.
    created_by = _user_field(_("created by"), db_index=False)
    updated_by = _user_field(_("updated by"), db_index=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Optimistic locking: a save based on an older version is refused instead of overwriting.
    version = models.PositiveIntegerField(_("version"), default=1)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    deleted_by = _user_field(_("deleted by"), db_index=False)
    deletion_reason = models.CharField(_("reason for deletion"), max_length=300, blank=True)
    # The series and countries' names, aliases and codes, folded: what ``q`` searches besides the row's own
    # texts. Kept by every write path (engagements.services.search); see engagements/search.py.
    search_names = models.TextField(_("search names"), blank=True, default="", editable=False)
    # What the scores ask of every counted engagement on every run, kept on the row by every write path
    # (engagements.services.shape) so that a run reads it with the dates instead of counting participations
    # and looking up frameworks again: how many partners take part, and whether it runs under a framework.
    partner_count = models.PositiveIntegerField(_("number of partners"), default=0, editable=False)
    # And which partners, by id, ascending: a run unnests them from the index it reads the window's engagements
    # from (``engagement_scoring``) and the quarter's activity count from ``engagement_start``, instead of
    # joining two million participations (bench/README.md, "Sixth pass").
    partner_ids = IdArrayField(verbose_name=_("partners"), editable=False)
    under_framework = models.BooleanField(_("under a framework"), default=False, editable=False)
    # And its after-action report's three ratings (engagements.services.shape, ``REPORT_FACTS``), null when
    # it has no report: the runs rate the window's engagements from their rows instead of hashing every report.
    report_interoperability = models.PositiveSmallIntegerField(
        _("report: interoperability"), null=True, blank=True, editable=False
    )
    report_capacity = models.PositiveSmallIntegerField(_("report: capacity"), null=True, blank=True, editable=False)
    report_trust = models.PositiveSmallIntegerField(_("report: trust"), null=True, blank=True, editable=False)
    # The import that last created or changed it: after an import the planner lands on its rows.
    import_batch = models.ForeignKey(
        "engagements.ImportBatch",
        verbose_name=_("import batch"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="engagements",
    )
    history = HistoricalRecords(
        m2m_fields=[organizations],
        excluded_fields=[
            "search_names",
            "partner_count",
            "partner_ids",
            "under_framework",
            "report_interoperability",
            "report_capacity",
            "report_trust",
        ],
        # History is read by engagement (``id``), date and user; an index on each copied column cost every
        # write (an import's history insert maintained 14 indexes: bench/README.md).
        no_db_index=HISTORY_UNINDEXED,
    )

    objects = EngagementQuerySet.as_manager()

    class Meta:
        verbose_name = _("engagement")
        verbose_name_plural = _("engagements")
        ordering = ["-start_date", "-id"]
        permissions = [
            ("read_restricted_engagement", _("Can read restricted engagements")),
            ("import_engagements", _("Can import engagements from files")),
            ("approve_engagement", _("Can approve or refuse planned engagements (four-eyes)")),
        ]
        indexes = [
            # Covering: the overview's quarter counts read a quarter's engagements and their partners from this
            # index alone.
            # And the list's past engagements, newest first (``end_date``: selectors.list_order).
            models.Index(
                fields=["start_date", "id"],
                include=["status", "deleted_at", "sensitivity", "engagement_type", "end_date", "partner_ids"],
                name="engagement_start",
            ),
            models.Index(fields=["status", "start_date"], name="engagement_status_start"),
            models.Index(fields=["host_country", "start_date"], name="engagement_host_start"),
            models.Index(fields=["engagement_type", "start_date"], name="engagement_type_start"),
            # Only the rows with a series (0.3 % of the million) or a point of contact: every query of these two
            # asks for one (``series = ?``, ``point_of_contact = ?``, and the cascades of deleting one), which
            # implies it is not null, and a row without one (most imported rows) adds nothing to the index.
            models.Index(
                fields=["series", "start_date"], name="engagement_series_start", condition=Q(series__isnull=False)
            ),
            models.Index(
                fields=["point_of_contact"], name="engagement_contact", condition=Q(point_of_contact__isnull=False)
            ),
            models.Index(fields=["owner_unit", "start_date"], name="engagement_owner_start"),
            # The list's current and coming engagements, counted and sorted from the index (selectors.list_order),
            # with the status and type filters read there too: "completed" with "not over yet" matches almost
            # nothing, and without them each of the 51,124 coming rows was read from the table to learn it.
            models.Index(
                fields=["end_date"],
                include=["start_date", "id", "deleted_at", "sensitivity", "status", "engagement_type"],
                name="engagement_end",
            ),
            # The "recently changed" view: latest change first, read backwards from this index.
            models.Index(fields=["updated_at", "id"], name="engagement_updated"),
            # Lists filtered by partner or organization probe engagements by id; with what the filters and
            # the order read included (the default order reads end_date: selectors.list_order), PostgreSQL
            # answers the count and the page's ids from the index alone (bench/README.md). Other databases
            # get a plain index.
            models.Index(
                fields=["id"],
                include=["start_date", "status", "deleted_at", "sensitivity", "end_date"],
                name="engagement_listing",
            ),
            # A scoring run reads a window's engagements with what it counts from the index alone, from the
            # window's first day on (the engagements that end before it are not read: the floor query's range
            # on ``engagement_end``), and hashes them by id (bench/README.md, issue 22).
            models.Index(
                fields=["end_date"],
                include=[
                    "id",
                    "start_date",
                    "status",
                    "deleted_at",
                    "partner_count",
                    "under_framework",
                    "report_interoperability",
                    "report_capacity",
                    "report_trust",
                    "partner_ids",
                ],
                name="engagement_scoring",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="engagement_end_after_start"),
            models.CheckConstraint(
                condition=Q(budget_usd__isnull=True) | Q(budget_usd__gte=0), name="engagement_budget_positive"
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="engagement_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="engagement_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def clean(self):
        problems = self.cross_field_problems(
            start_date=self.start_date, end_date=self.end_date, latitude=self.latitude, longitude=self.longitude
        )
        if problems:
            raise ValidationError(problems)

    @staticmethod
    def cross_field_problems(*, start_date, end_date, latitude, longitude) -> dict[str, str]:
        """What one field cannot say: the dates in order, and a place given by both coordinates or neither."""
        problems = {}
        if start_date and end_date and end_date < start_date:
            problems["end_date"] = _("The end date cannot be before the start date (%(start)s).") % {
                "start": start_date.isoformat()
            }
        if (latitude is None) != (longitude is None):
            problems["longitude" if longitude is None else "latitude"] = _(
                "Give both latitude and longitude, or neither."
            )
        return problems

    @property
    def is_restricted(self) -> bool:
        return self.sensitivity == Sensitivity.RESTRICTED

    @property
    def duration_days(self) -> int:
        return (self.end_date - self.start_date).days + 1


class Participation(ChoiceLabels, models.Model):
    """A partner nation's part in an engagement: its role and how many personnel it sent."""

    # No index of their own: the unique (engagement, partner) and participation_partner (partner, engagement)
    # serve both (every index costs each imported row).
    engagement = models.ForeignKey(
        Engagement,
        verbose_name=_("engagement"),
        on_delete=models.CASCADE,
        related_name="participations",
        db_index=False,
    )
    partner = models.ForeignKey(
        "partners.PartnerNation",
        verbose_name=_("partner"),
        on_delete=models.PROTECT,
        related_name="participations",
        db_index=False,
    )
    role = models.CharField(
        _("role"), max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.PARTICIPANT
    )
    personnel = models.PositiveIntegerField(
        _("personnel"),
        default=0,
        validators=[
            MinValueValidator(0, message=_("Personnel cannot be negative.")),
            MaxValueValidator(1_000_000, message=_("At most 1,000,000 personnel.")),
        ],
    )
    # Its history is read by engagement (the engagement's history page) and date, never by partner.
    history = HistoricalRecords(no_db_index=["partner"])

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        ordering = ["engagement", "partner__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "partner"],
                name="participation_unique_partner",
                violation_error_message=_("This partner is already listed in this engagement."),
            ),
            models.CheckConstraint(condition=Q(personnel__gte=0), name="participation_personnel_positive"),
        ]
        indexes = [models.Index(fields=["partner", "engagement"], name="participation_partner")]

    def __str__(self) -> str:
        return f"{self.partner} ({self.get_role_display()}) in {self.engagement_id}"


RATING = _between(1, 5, _("Ratings go from 1 (poor) to 5 (excellent)."))


class AfterActionReport(models.Model):
    """What an engagement achieved, rated 1-5 for interoperability, capacity and trust."""

    engagement = models.OneToOneField(
        Engagement, verbose_name=_("engagement"), on_delete=models.CASCADE, related_name="after_action"
    )
    summary = models.TextField(_("summary"), max_length=LONG_TEXT)
    interoperability_rating = models.PositiveSmallIntegerField(_("interoperability (1-5)"), validators=RATING)
    capacity_rating = models.PositiveSmallIntegerField(_("capacity (1-5)"), validators=RATING)
    trust_rating = models.PositiveSmallIntegerField(_("trust (1-5)"), validators=RATING)
    lessons_learned = models.TextField(_("lessons learned"), max_length=LONG_TEXT, blank=True)
    recommendations = models.TextField(_("recommendations"), max_length=LONG_TEXT, blank=True)
    submitted_by = _user_field(_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("after-action report")
        verbose_name_plural = _("after-action reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(interoperability_rating__gte=1, interoperability_rating__lte=5),
                name="aar_interoperability_1_5",
            ),
            models.CheckConstraint(
                condition=Q(capacity_rating__gte=1, capacity_rating__lte=5), name="aar_capacity_1_5"
            ),
            models.CheckConstraint(condition=Q(trust_rating__gte=1, trust_rating__lte=5), name="aar_trust_1_5"),
        ]

    def __str__(self) -> str:
        return f"AAR {self.engagement_id}"

    @property
    def days_after_end(self) -> int:
        """How long after the engagement ended the report came in (negative if before the end)."""
        return (self.submitted_at.date() - self.engagement.end_date).days


class ImportBatch(models.Model):
    """One committed import of a file: who imported what, when, and what it did to how many engagements.

    The engagements it created or changed point to it, so the list filters by it (``?import_batch=<id>``).
    """

    file_name = models.CharField(_("file name"), max_length=255)
    created_by = _user_field(_("imported by"))
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


class FindingDismissal(models.Model):
    """A planner looked at a deconfliction finding between two engagements and dismissed it, saying why.

    Kept for the pair whichever side it was dismissed from (``first`` has the lower id), so the finding does
    not come back on either engagement's page.
    """

    first = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(_("note"), max_length=300)
    dismissed_by = _user_field(_("dismissed by"))
    dismissed_at = models.DateTimeField(_("dismissed"), auto_now_add=True)

    class Meta:
        verbose_name = _("dismissed deconfliction finding")
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="finding_dismissal_unique_pair"),
            models.CheckConstraint(condition=Q(first__lt=F("second")), name="finding_dismissal_ordered_pair"),
        ]
        indexes = [models.Index(fields=["second", "first"], name="finding_dismissal_second")]

    def __str__(self) -> str:
        return f"{self.first_id} / {self.second_id}"


class Approval(models.Model):
    """One step of an engagement's four-eyes approval: a planner asked for it, an approver approved or refused
    it (with a comment), or a change to an approved engagement's dates, host or participants sent it back to
    planned. Read newest first, these rows are the approval's story on the engagement's page."""

    class Action(models.TextChoices):
        REQUESTED = "requested", _("approval requested")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")
        RESET = "reset", _("back to planned")

    engagement = models.ForeignKey(
        Engagement, verbose_name=_("engagement"), on_delete=models.CASCADE, related_name="approvals"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    user = _user_field(_("by"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["engagement", "-at"], name="approval_engagement_at")]

    def __str__(self) -> str:
        return f"{self.engagement_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class ReferenceCounter(models.Model):
    """The last reference number handed out per year; rows are locked while numbers are drawn."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("reference counter")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class PartnerChange(models.Model):
    """A partner's engagement data changed over a span of days: its scores for those quarters are stale.

    Written by the engagement services in the same transaction as the change; the assessments app
    consumes the rows (``processed_at``) when it recomputes. Engagement code never imports assessments.
    """

    # Read by what is pending (``partnerchange_pending``: processed_at, partner), never by partner or engagement
    # alone: those two indexes cost every imported participant and answered no query (migration 0021). Partners
    # are reference data and engagements are only ever deleted softly, so the deletions they would serve
    # do not happen.
    partner = models.ForeignKey(
        "partners.PartnerNation", on_delete=models.CASCADE, related_name="engagement_changes", db_index=False
    )
    engagement = models.ForeignKey(
        Engagement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    first_day = models.DateField()
    last_day = models.DateField()
    changed_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("partner change awaiting scoring")
        indexes = [models.Index(fields=["processed_at", "partner"], name="partnerchange_pending")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.first_day}..{self.last_day}"


class SavedFilter(models.Model):
    """A named view of the engagement list that a user comes back to ("Sahel exercises this year"): the
    list's query string, kept for its owner or shared with everybody. Applying it opens the list with
    those filters, so a saved filter is also a link to send (NetBox's saved filters are the model)."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_engagement_filters",
    )
    # The list's parameters as a query string ("status=planned&q=flint"), checked by the list's filterset.
    query = models.TextField(_("filters"), max_length=2000)
    shared = models.BooleanField(_("shared with everybody"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_filter_unique_name")]

    def __str__(self) -> str:
        return self.name


class CalendarFeed(models.Model):
    """A user's subscription to the engagement calendar from a calendar program (an iCal feed).

    The feed address holds a secret so that a calendar program can read it without a session. Only ``key``
    is stored; the secret in the address is ``key`` followed by an HMAC of it under the site's secret key
    (``engagements.feeds``), so the database alone does not give anyone a working address, while the user
    can be shown theirs again at any time. Resetting draws a new ``key``: the old address stops at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="calendar_feed"
    )
    key = models.CharField(_("key"), max_length=32, unique=True)
    issued_at = models.DateTimeField(_("issued at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"
