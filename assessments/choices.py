from django.db import models
from django.utils.translation import gettext_lazy as _


class LineOfEffort(models.TextChoices):
    INTEROPERABILITY = "interoperability", _("Interoperability")
    CAPACITY_BUILDING = "capacity_building", _("Capacity building")
    MARITIME_SECURITY = "maritime_security", _("Maritime security")
    COUNTER_TERRORISM = "counter_terrorism", _("Counter-terrorism")
    PEACEKEEPING_READINESS = "peacekeeping_readiness", _("Peacekeeping readiness")
    CYBER_DEFENSE = "cyber_defense", _("Cyber defense")
    INSTITUTIONAL_REFORM = "institutional_reform", _("Institutional reform")


class ObjectiveStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ACHIEVED = "achieved", _("Achieved")
    AT_RISK = "at_risk", _("At risk")
    DISCONTINUED = "discontinued", _("Discontinued")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("Manual")
    API = "api", _("API")
    DATA_CHANGE = "data_change", _("Data change")
    # The backfill of a newly activated scoring model's look-back window.
    MODEL_ACTIVATION = "model_activation", _("Scoring model activation")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Component(models.TextChoices):
    """The seven components of a partner's score, in the order of DESIGN.md."""

    ACTIVITY = "activity", _("Activity")
    INTEROPERABILITY = "interoperability", _("Interoperability")
    CAPACITY = "capacity", _("Capacity")
    TRUST = "trust", _("Trust")
    CONTINUITY = "continuity", _("Continuity")
    MULTILATERAL = "multilateral", _("Multilateral")
    OBJECTIVES = "objectives", _("Objectives")


COMPONENTS = [c.value for c in Component]


def score_labels() -> list[tuple[str, str]]:
    """``overall`` and the seven components with their labels, in display order."""
    return [("overall", _("Overall")), *Component.choices]


# Scoring model version 1 (DESIGN.md "The scoring model (version 1)").
DEFAULT_WEIGHTS = {
    "activity": 0.15,
    "interoperability": 0.15,
    "capacity": 0.15,
    "trust": 0.15,
    "continuity": 0.15,
    "multilateral": 0.10,
    "objectives": 0.15,
}
DEFAULT_HALF_LIFE_DAYS = 365
DEFAULT_LOOKBACK_QUARTERS = 8
DEFAULT_ACTIVITY_SCALE = 4.0


class Confidence(models.TextChoices):
    """How far a score can be trusted, from how many engagements and after-action reports it rests on
    (DESIGN.md, "Second edition": Scores). The rule itself is ``assessments.services.scoring.confidence_of``."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


# confidence_of: low below LOW_MIN_ENGAGEMENTS engagements or without any report; high from
# HIGH_MIN_ENGAGEMENTS engagements and HIGH_MIN_REPORTS reports; medium between.
CONFIDENCE_LOW_MIN_ENGAGEMENTS = 3
CONFIDENCE_HIGH_MIN_ENGAGEMENTS = 8
CONFIDENCE_HIGH_MIN_REPORTS = 3

# An overall score falling by this many points or more from one quarter to the next raises an alert.
ALERT_DROP = -10.0
