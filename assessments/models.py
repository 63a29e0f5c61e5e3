"""What analysts assess: objectives with measurable indicators, and the quarterly scores of each partner.

Scores are snapshots: each ``PartnerScore`` keeps the scoring-model version and the run that made it,
so a newer model never overwrites the history computed with an older one.
"""

from __future__ import annotations

import math
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from assessments.choices import COMPONENTS, Confidence, LineOfEffort, ObjectiveStatus, RunStatus, RunTrigger
from assessments.periods import Quarter
from core.fields import IdArrayField


class Objective(models.Model):
    """Something the cooperation with a partner should achieve (e.g. a maritime patrol capability by 2027)."""

    partner = models.ForeignKey(
        "partners.PartnerNation", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="objectives"
    )
    line_of_effort = models.CharField(_("line of effort"), max_length=40, choices=LineOfEffort.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ObjectiveStatus.choices, default=ObjectiveStatus.ACTIVE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        ordering = ["partner__name", "title", "id"]
        indexes = [models.Index(fields=["partner", "line_of_effort"], name="objective_partner_loe")]

    def __str__(self) -> str:
        return self.title


class Indicator(models.Model):
    """A measurable sign of an objective's progress, from a baseline value towards a target value.

    Progress = (latest value - baseline) / (target - baseline), clipped to [0, 1]; a decreasing target
    (fewer incidents) works the same way. A target equal to the baseline would make progress undefined,
    so it is refused.
    """

    objective = models.ForeignKey(
        Objective, verbose_name=_("objective"), on_delete=models.CASCADE, related_name="indicators"
    )
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    baseline_value = models.FloatField(_("baseline value"))
    target_value = models.FloatField(_("target value"))
    baseline_date = models.DateField(_("baseline date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["objective", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(target_value=F("baseline_value")),
                name="indicator_target_differs_from_baseline",
                violation_error_message=_("The target must differ from the baseline, or progress cannot be measured."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if (
            self.baseline_value is not None
            and self.target_value is not None
            and self.target_value == self.baseline_value
        ):
            raise ValidationError(
                {"target_value": _("The target must differ from the baseline, or progress cannot be measured.")}
            )

    def progress_of(self, value: float | None) -> float | None:
        """Progress in [0, 1] for a measured value (None when nothing is measured)."""
        if value is None:
            return None
        ratio = (value - self.baseline_value) / (self.target_value - self.baseline_value)
        return min(1.0, max(0.0, ratio))


class Measurement(models.Model):
    """A value of an indicator observed on a date, with where it came from."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("indicator"), on_delete=models.CASCADE, related_name="measurements"
    )
    date = models.DateField(_("date"))
    value = models.FloatField(_("value"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        ordering = ["indicator", "-date", "-id"]
        constraints = [
            # "The latest measurement on or before a day" must be one value.
            models.UniqueConstraint(
                fields=["indicator", "date"],
                name="measurement_one_per_day",
                violation_error_message=_("This indicator already has a measurement on this date."),
            ),
        ]
        indexes = [models.Index(fields=["indicator", "date"], name="measurement_indicator_date")]

    def __str__(self) -> str:
        return f"{self.indicator}: {self.value} on {self.date}"


# Bounds of a scoring model's parameters (ScoringParameters.clean; the look-back's is also a database constraint).
MAX_WEIGHT = 1000
MAX_HALF_LIFE_DAYS = 36_500
MAX_LOOKBACK_QUARTERS = 40
MAX_ACTIVITY_SCALE = 10_000


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ScoringParameters(models.Model):
    """What a scoring model is made of (DESIGN.md, "The scoring model"): the components' weights, the
    recency half-life, the look-back window and the activity scale. Versions and drafts hold the same."""

    weights = models.JSONField(_("weights"), help_text=_("Weight of each component; renormalised over non-null ones."))
    half_life_days = models.PositiveIntegerField(_("half-life (days)"))
    lookback_quarters = models.PositiveSmallIntegerField(_("look-back (quarters)"))
    activity_scale = models.FloatField(_("activity scale"))

    PARAMETERS = ("weights", "half_life_days", "lookback_quarters", "activity_scale")

    class Meta:
        abstract = True

    @property
    def parameters(self) -> dict:
        return {name: getattr(self, name) for name in self.PARAMETERS}

    def clean(self):
        """What valid parameters are, every field's problem at once: the one home for the versions admins
        edit and the drafts analysts write."""
        errors = {}
        weights_error = self._weights_error(self.weights)
        if weights_error:
            errors["weights"] = [weights_error]
        # A value of the wrong type is clean_fields' to report; only numbers are judged here.
        if _is_number(self.half_life_days) and not (1 <= self.half_life_days <= MAX_HALF_LIFE_DAYS):
            errors["half_life_days"] = [
                _("The half-life must be between 1 and %(max)s days.") % {"max": MAX_HALF_LIFE_DAYS}
            ]
        if _is_number(self.lookback_quarters) and not (1 <= self.lookback_quarters <= MAX_LOOKBACK_QUARTERS):
            errors["lookback_quarters"] = [
                _("The look-back must be between 1 and %(max)s quarters.") % {"max": MAX_LOOKBACK_QUARTERS}
            ]
        scale = self.activity_scale
        if _is_number(scale) and (not math.isfinite(scale) or not (0 < scale <= MAX_ACTIVITY_SCALE)):
            errors["activity_scale"] = [
                _("The activity scale must be a number above 0 and at most %(max)s.") % {"max": MAX_ACTIVITY_SCALE}
            ]
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _weights_error(weights) -> str | None:
        if not isinstance(weights, dict):
            return _("Give one weight per component.")
        missing = [name for name in COMPONENTS if name not in weights]
        unknown = [name for name in weights if name not in COMPONENTS]
        if missing or unknown:
            return _("Weights need exactly these components: %(names)s.") % {"names": ", ".join(COMPONENTS)}
        for name, value in weights.items():
            if not _is_number(value) or not math.isfinite(value) or not (0 <= value <= MAX_WEIGHT):
                return _("Weight of %(name)s must be a number from 0 to %(max)s.") % {"name": name, "max": MAX_WEIGHT}
        if sum(weights.values()) <= 0:
            return _("At least one weight must be above 0.")
        return None


class ScoringModel(ScoringParameters):
    """The parameters scores are computed with. Exactly one is active; old scores keep their version."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    is_active = models.BooleanField(_("active"), default=False)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Admins change scoring models; the audit log shows who changed which parameter.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scoring model")
        verbose_name_plural = _("scoring models")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="scoring_model_one_active",
                violation_error_message=_("Only one scoring model can be active."),
            ),
            models.CheckConstraint(condition=Q(half_life_days__gt=0), name="scoring_model_half_life_positive"),
            models.CheckConstraint(
                condition=Q(lookback_quarters__gte=1, lookback_quarters__lte=40), name="scoring_model_lookback_range"
            ),
            models.CheckConstraint(condition=Q(activity_scale__gt=0), name="scoring_model_scale_positive"),
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class _Timed:
    """A run or a run's part: started and finished, so it lasted."""

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class AssessmentRun(_Timed, models.Model):
    """One computation of scores for a set of quarters: who or what asked, and how it went."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trigger = models.CharField(_("trigger"), max_length=20, choices=RunTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scoring_model = models.ForeignKey(
        ScoringModel, verbose_name=_("scoring model"), on_delete=models.PROTECT, related_name="runs"
    )
    periods = models.JSONField(_("periods"), default=list, help_text=_("Quarters as YYYY-Qn, oldest first."))
    # Empty: every partner. A run triggered by changed data scores only the partners whose data changed.
    partner_ids = models.JSONField(_("partners"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    partners_scored = models.PositiveIntegerField(_("partners scored"), default=0)
    scores_written = models.PositiveIntegerField(_("scores written"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "trigger"], name="run_status_trigger")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} run {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class AssessmentRunPart(_Timed, models.Model):
    """One quarter of a run fanned out across the workers (a run of many quarters, on a broker): its own
    task, attempts and outcome. The run succeeds when every part has, and fails when one part has
    failed for good; the parts that succeeded keep the scores they wrote."""

    run = models.ForeignKey(AssessmentRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="parts")
    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    scores_written = models.PositiveIntegerField(_("scores written"), default=0)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("assessment run part")
        verbose_name_plural = _("assessment run parts")
        ordering = ["run", "period"]
        constraints = [models.UniqueConstraint(fields=["run", "period"], name="run_part_unique_period")]

    def __str__(self) -> str:
        return f"{self.run_id} {Quarter.of(self.period)}"


class ComponentScores(models.Model):
    """A score's figures: overall and the seven components (0-100, null when there is nothing to judge by),
    and how much it rests on. Stored scores and what-if previews hold the same."""

    overall = models.FloatField(_("overall"), null=True)
    activity = models.FloatField(_("activity"), null=True)
    interoperability = models.FloatField(_("interoperability"), null=True)
    capacity = models.FloatField(_("capacity"), null=True)
    trust = models.FloatField(_("trust"), null=True)
    continuity = models.FloatField(_("continuity"), null=True)
    multilateral = models.FloatField(_("multilateral"), null=True)
    objectives = models.FloatField(_("objectives"), null=True)
    engagement_count = models.PositiveIntegerField(_("engagements"), default=0)
    report_count = models.PositiveIntegerField(
        _("after-action reports"), default=0, help_text=_("Counted engagements with an after-action report.")
    )
    confidence = models.CharField(
        _("confidence"), max_length=8, choices=Confidence.choices, default=Confidence.LOW, db_index=True
    )

    class Meta:
        abstract = True


class PartnerScore(ComponentScores):
    """A partner's score for one quarter under one scoring model: overall and the seven components (0-100).

    A component is null when there is nothing to judge it by (no after-action report, no measured
    indicator); ``overall`` is then the weighted mean of the others. A partner has a row for a quarter
    when it took part in a counted engagement in the look-back window or has an indicator measured by the
    quarter's end; other partners have no row (no data is not a score of zero).
    """

    partner = models.ForeignKey(
        "partners.PartnerNation", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="scores"
    )
    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))
    period_end = models.DateField(_("quarter end"))
    scoring_model = models.ForeignKey(
        ScoringModel, verbose_name=_("scoring model"), on_delete=models.PROTECT, related_name="scores"
    )
    delta_overall = models.FloatField(_("change from previous quarter"), null=True)
    run = models.ForeignKey(
        AssessmentRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="scores"
    )
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("partner score")
        verbose_name_plural = _("partner scores")
        ordering = ["-period", "partner__name"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "period", "scoring_model"], name="partner_score_unique"),
        ]
        indexes = [
            models.Index(fields=["scoring_model", "period", "overall"], name="score_model_period"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.period_label}"

    @property
    def quarter(self) -> Quarter:
        return Quarter.of(self.period)

    @property
    def period_label(self) -> str:
        return str(self.quarter)

    @property
    def provisional(self) -> bool:
        """True while the quarter has not ended (computed, never stored: see ``Quarter.is_provisional``)."""
        return self.quarter.is_provisional()


class Alert(models.Model):
    """A partner's overall score fell by 10 points or more from one quarter to the next."""

    partner = models.ForeignKey(
        "partners.PartnerNation", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="score_alerts"
    )
    period = models.DateField(_("quarter"))
    scoring_model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="alerts")
    overall = models.FloatField(_("overall"))
    previous_overall = models.FloatField(_("previous overall"))
    delta_overall = models.FloatField(_("change"))
    raised_at = models.DateTimeField(_("raised"), auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-period", "delta_overall"]
        permissions = [("acknowledge_alert", _("Can acknowledge score alerts"))]
        constraints = [
            models.UniqueConstraint(fields=["partner", "period", "scoring_model"], name="alert_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.period_label}: {self.delta_overall:+.2f}"

    @property
    def period_label(self) -> str:
        return str(Quarter.of(self.period))

    @property
    def quarter(self) -> Quarter:
        return Quarter.of(self.period)

    @property
    def provisional(self) -> bool:
        """The alert's quarter has not ended: its score, and so the drop, may still move."""
        return self.quarter.is_provisional()


class ActivityScope(models.TextChoices):
    """Whose engagements a quarter's activity counts: everyone's, or one region's, subregion's, intermediate
    region's or organization's (an engagement counts for a scope when at least one of its partners is in it)."""

    EVERYTHING = "", _("all partners")
    REGION = "region", _("region")
    SUBREGION = "subregion", _("subregion")
    INTERMEDIATE_REGION = "intermediate_region", _("intermediate region")
    ORGANIZATION = "organization", _("organization")


class ScopedQuarter(models.Model):
    """One quarter of one scope (the fields the activity snapshots share)."""

    scope_kind = models.CharField(_("scope"), max_length=20, choices=ActivityScope.choices, blank=True)
    scope_name = models.CharField(_("region or organization"), max_length=100, blank=True)
    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))

    class Meta:
        abstract = True


class QuarterActivity(ScopedQuarter):
    """How many partners took part in the engagements starting in a quarter, as the last run counted them,
    for everyone and for each region, subregion and organization.

    A row for everyone (empty ``scope_kind``) means the quarter has been counted: scopes without a row
    had no engagement. ``QuarterActivityCount`` rows hold the engagements by type. Both are snapshots
    like the scores: the overview reads them instead of counting a million engagements on every visit,
    and a run recounts every quarter it scores. Partners are counted twice, with and without restricted
    engagements, because a viewer's figures never include restricted ones.
    """

    partners_engaged = models.PositiveIntegerField(_("partners engaged"), default=0)
    partners_engaged_unrestricted = models.PositiveIntegerField(
        _("partners engaged in unrestricted engagements"), default=0
    )
    run = models.ForeignKey(
        AssessmentRun, verbose_name=_("run"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("quarter activity")
        verbose_name_plural = _("quarter activity")
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(fields=["scope_kind", "scope_name", "period"], name="quarter_activity_unique"),
        ]

    def __str__(self) -> str:
        return f"{Quarter.of(self.period)} {self.scope_kind} {self.scope_name}".strip()


class QuarterActivityCount(ScopedQuarter):
    """Engagements of one type starting in a counted quarter, for one scope (cancelled and deleted ones
    left out)."""

    engagement_type = models.CharField(_("type"), max_length=30)
    restricted = models.BooleanField(_("restricted"))
    engagements = models.PositiveIntegerField(_("engagements"))

    class Meta:
        verbose_name = _("quarter activity count")
        verbose_name_plural = _("quarter activity counts")
        constraints = [
            models.UniqueConstraint(
                fields=["scope_kind", "scope_name", "period", "engagement_type", "restricted"],
                name="quarter_activity_count_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{Quarter.of(self.period)} {self.scope_name} {self.engagement_type}: {self.engagements}"


class QuarterActivityChange(models.Model):
    """A write that may have changed the activity counts or partner pairs of a quarter since a run last
    counted them, and that its deltas (``QuarterActivityDelta``) do not describe: a run counts such a quarter
    again from scratch (as one with no snapshot yet); the others take their deltas.

    Written by the database itself, by statement-level triggers (migrations
    ``assessments/0012_quarter_activity_changes`` and ``0013_quarter_activity_deltas``), so that every write
    path marks the quarters it touches, the ORM, bulk creates, the import's ``COPY``, the admin and raw SQL
    alike: a change of what puts partners in a scope (a membership, a region, an acronym) marks every quarter
    from the first engagement's to the last one's; a statement of more than a thousand engagements marks
    its quarters; and a run that counted from scratch while a write landed marks that write's quarter
    (``deltas_settle``). ``activity_store`` deletes a quarter's rows in the transaction that recounts it,
    before counting, so a write committed after the deletion leaves its row for the next run. Rows are not
    unique: writers never wait for each other here.
    """

    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))

    class Meta:
        verbose_name = _("quarter activity change")
        verbose_name_plural = _("quarter activity changes")
        indexes = [models.Index(fields=["period"], name="quarter_activity_change")]

    def __str__(self) -> str:
        return str(Quarter.of(self.period))


class QuarterActivityDelta(models.Model):
    """One engagement's part in a quarter's activity counts and partner pairs, before (``sign`` -1) or after
    (+1) a write changed it: a run adds a quarter's deltas to its snapshots instead of counting the quarter
    again (``assessments/services/activity.py``, ``activity_deltas_apply``).

    Written by the database itself, by the statement-level triggers on the engagements (migration
    ``assessments/0013_quarter_activity_deltas``): an engagement's part is read from its row alone (start
    date, status, deletion, sensitivity, type and ``partner_ids``, which the database keeps following its
    participations), so every write path writes them. A statement of more than a thousand engagements (an
    import) marks its quarters for a count instead (``QuarterActivityChange``). Each row carries the
    transaction that wrote it (``xid``, a PostgreSQL ``xid8`` column the migration adds), so that a run that
    counts a quarter from scratch removes exactly the deltas its count saw.
    """

    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))
    sign = models.SmallIntegerField(_("sign"))
    engagement_type = models.CharField(_("engagement type"), max_length=30)
    restricted = models.BooleanField(_("restricted"))
    scored = models.BooleanField(_("scored"), help_text=_("Completed or in progress: counted in the pairs."))
    start_date = models.DateField(_("start date"))
    partner_ids = IdArrayField(verbose_name=_("partners"))

    class Meta:
        verbose_name = _("quarter activity delta")
        verbose_name_plural = _("quarter activity deltas")
        indexes = [models.Index(fields=["period"], name="quarter_activity_delta")]

    def __str__(self) -> str:
        return f"{Quarter.of(self.period)} {self.sign:+d} {self.engagement_type}"


class PairQuarter(models.Model):
    """How many engagements two partners took part in together (as host, lead or any other role), counting
    the engagements that start in one quarter, as the last run counted them: the cooperation network reads
    these rows instead of pairing up a million engagements' participants on every visit.

    Engagements count as the scores count them (completed or in progress, not deleted). Each pair is stored
    once, the partner with the smaller id first; restricted engagements are counted apart, because a
    viewer's network never includes them. A quarter has been counted when ``QuarterActivity`` has its row:
    runs count the pairs of every quarter they count the activity of, in the same transaction.
    """

    partner = models.ForeignKey(
        "partners.PartnerNation", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
    )
    other = models.ForeignKey(
        "partners.PartnerNation", verbose_name=_("other partner"), on_delete=models.CASCADE, related_name="+"
    )
    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))
    restricted = models.BooleanField(_("restricted"))
    engagements = models.PositiveIntegerField(_("shared engagements"))

    class Meta:
        verbose_name = _("partner pair quarter")
        verbose_name_plural = _("partner pair quarters")
        constraints = [
            models.UniqueConstraint(fields=["period", "partner", "other", "restricted"], name="pair_quarter_unique"),
            models.CheckConstraint(condition=Q(partner__lt=F("other")), name="pair_quarter_ordered"),
        ]
        # The network reads a scope's pairs (partner and other among its partners) for a window and for the
        # history before it: this index holds every column both read, so PostgreSQL may answer them from
        # the index alone (bench/README.md, "Cooperation network").
        indexes = [
            models.Index(
                fields=["partner", "other", "period"],
                include=["restricted", "engagements"],
                name="pair_quarter_history",
            )
        ]

    def __str__(self) -> str:
        return f"{Quarter.of(self.period)} {self.partner_id}-{self.other_id}: {self.engagements}"


class EngagementObjective(models.Model):
    """A planner's statement that an engagement served one of its participants' objectives: the objective's
    page lists the engagements that served it beside its indicators' progress, and a partner's assessment
    shows the objectives no engagement served in the scoring window. Stored here, not in engagements, so
    engagement code never imports assessments (the link is written through ``engagements.extensions``)."""

    engagement = models.ForeignKey(
        "engagements.Engagement",
        verbose_name=_("engagement"),
        on_delete=models.CASCADE,
        related_name="objective_links",
    )
    objective = models.ForeignKey(
        Objective, verbose_name=_("objective"), on_delete=models.CASCADE, related_name="engagement_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(_("linked"), auto_now_add=True)

    class Meta:
        verbose_name = _("engagement serving an objective")
        verbose_name_plural = _("engagements serving objectives")
        constraints = [
            models.UniqueConstraint(fields=["engagement", "objective"], name="engagement_objective_once"),
        ]

    def __str__(self) -> str:
        return f"{self.engagement_id} -> {self.objective_id}"


class DraftStatus(models.TextChoices):
    """Where an analyst's draft scoring model stands."""

    DRAFT = "draft", _("Draft")
    ACTIVATING = "activating", _("Being activated")
    ACTIVATED = "activated", _("Activated")
    FAILED = "failed", _("Activation failed")


class ScoringModelDraft(ScoringParameters):
    """An analyst's what-if scoring model: the parameters a ``ScoringModel`` holds, previewed against the
    active model before an administrator activates it. Activating makes it the next version: a new
    ``ScoringModel`` whose scores for the look-back window are computed in the background, and which becomes
    active (the older version staying in the history with its scores) once that backfill has succeeded."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=DraftStatus.choices, default=DraftStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("drafted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Set on activation: the version made from this draft, and the run computing its scores.
    scoring_model = models.OneToOneField(
        ScoringModel,
        verbose_name=_("version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draft",
    )
    backfill_run = models.ForeignKey(
        AssessmentRun,
        verbose_name=_("backfill run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("activated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    activation_requested_at = models.DateTimeField(_("activation requested"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    activation_error = models.TextField(_("activation error"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("draft scoring model")
        verbose_name_plural = _("draft scoring models")
        ordering = ["-updated_at", "-id"]
        permissions = [("activate_scoringmodeldraft", _("Can activate a draft scoring model"))]
        constraints = [
            # One activation at a time: the pages say which version is being computed.
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="activating"),
                name="scoring_model_draft_one_activating",
                violation_error_message=_("Another draft is being activated."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def as_scoring_model(self, **extra) -> ScoringModel:
        """The draft as an unsaved scoring model: what the scoring engine computes with."""
        return ScoringModel(description=self.description, **self.parameters, **extra)

    @property
    def is_editable(self) -> bool:
        return self.status in (DraftStatus.DRAFT, DraftStatus.FAILED)


class ScoringPreview(models.Model):
    """One what-if computation: a draft's parameters (as they were when asked) and the active model, both
    scored on the same quarter from the same data, into ``ScoringPreviewScore`` rows (a scratch table: the
    real scores are never touched). A failed preview keeps its error; earlier previews stay."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    draft = models.ForeignKey(
        ScoringModelDraft, verbose_name=_("draft"), on_delete=models.CASCADE, related_name="previews"
    )
    parameters = models.JSONField(_("parameters previewed"))
    baseline_model = models.ForeignKey(
        ScoringModel, verbose_name=_("compared with"), on_delete=models.PROTECT, related_name="+"
    )
    period = models.DateField(_("quarter"), help_text=_("First day of the quarter."))
    status = models.CharField(_("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    partners_scored = models.PositiveIntegerField(_("partners scored"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("scoring preview")
        verbose_name_plural = _("scoring previews")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["draft", "status", "created_at"], name="preview_draft_status")]

    def __str__(self) -> str:
        return f"{self.draft_id} {Quarter.of(self.period)} {self.status}"

    @property
    def quarter(self) -> Quarter:
        return Quarter.of(self.period)

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)


class ScoringPreviewScore(ComponentScores):
    """A partner's score in a preview under the draft (``overall`` and components) beside its overall score
    under the active model (``baseline_overall``), with both ranks (1 = best; null without a score)."""

    preview = models.ForeignKey(ScoringPreview, on_delete=models.CASCADE, related_name="scores")
    partner = models.ForeignKey("partners.PartnerNation", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveIntegerField(_("rank"), null=True)
    baseline_overall = models.FloatField(_("overall under the active model"), null=True)
    baseline_rank = models.PositiveIntegerField(_("rank under the active model"), null=True)

    class Meta:
        verbose_name = _("preview score")
        verbose_name_plural = _("preview scores")
        constraints = [models.UniqueConstraint(fields=["preview", "partner"], name="preview_score_unique")]

    def __str__(self) -> str:
        return f"{self.preview_id} {self.partner_id}"
