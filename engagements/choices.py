from django.db import models
from django.utils.translation import gettext_lazy as _


class EngagementType(models.TextChoices):
    EXERCISE = "exercise", _("Exercise")
    TRAINING_EXCHANGE = "training_exchange", _("Training exchange")
    ADVISORY_MISSION = "advisory_mission", _("Advisory mission")
    PEACEKEEPING = "peacekeeping", _("Peacekeeping contribution")
    BILATERAL_DRILL = "bilateral_drill", _("Bilateral drill")
    MULTILATERAL_DRILL = "multilateral_drill", _("Multilateral drill")
    KEY_LEADER_ENGAGEMENT = "key_leader_engagement", _("Key leader engagement")
    CONFERENCE = "conference", _("Conference")
    PORT_VISIT = "port_visit", _("Port visit")
    HUMANITARIAN_ASSISTANCE = "humanitarian_assistance", _("Humanitarian assistance")


class Domain(models.TextChoices):
    LAND = "land", _("Land")
    MARITIME = "maritime", _("Maritime")
    AIR = "air", _("Air")
    CYBER = "cyber", _("Cyber")
    SPACE = "space", _("Space")
    JOINT = "joint", _("Joint")


class Status(models.TextChoices):
    PLANNED = "planned", _("Planned")
    APPROVED = "approved", _("Approved")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# Forward order of the life cycle; cancelled stands apart. The moves allowed are engagements.rules'.
STATUS_ORDER = [Status.PLANNED, Status.APPROVED, Status.IN_PROGRESS, Status.COMPLETED]
# Statuses whose engagements count for scoring and may carry an after-action report.
SCORED_STATUSES = (Status.IN_PROGRESS, Status.COMPLETED)


class ThreatFocus(models.TextChoices):
    TERRORISM = "terrorism", _("Terrorism")
    MARITIME_CRIME = "maritime_crime", _("Maritime crime")
    INSURGENCY = "insurgency", _("Insurgency")
    TRANSNATIONAL_CRIME = "transnational_crime", _("Transnational crime")
    CYBER = "cyber", _("Cyber")
    DETERRENCE = "deterrence", _("Deterrence")
    DISASTER_RESPONSE = "disaster_response", _("Disaster response")


class Sensitivity(models.TextChoices):
    UNCLASSIFIED = "unclassified", _("Unclassified")
    RESTRICTED = "restricted", _("Restricted")


class ParticipantRole(models.TextChoices):
    LEAD = "lead", _("Lead")
    HOST = "host", _("Host")
    PARTICIPANT = "participant", _("Participant")
    OBSERVER = "observer", _("Observer")
    TRAINER = "trainer", _("Trainer")
    TRAINEE = "trainee", _("Trainee")


class WarningKind(models.TextChoices):
    """The kinds of deconfliction finding (``engagements.deconfliction``), most pressing first."""

    PARTNER_OVERLAP = "partner_overlap", _("A partner is already in another engagement on overlapping dates")
    HOST_OVERLAP = "host_overlap", _("Another engagement in the same host country on overlapping dates")
    LIKELY_DUPLICATE = "likely_duplicate", _("Same series or a similar title, same host, start within 7 days")
    LONG_MISSION = "long_mission", _("A partner or the host is in a long mission (60 days or more) on these dates")


class ChangeAction(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("updated")
    DELETED = "deleted", _("deleted")
    WITHDRAWN = "withdrawn", _("withdrawn (now restricted: no longer visible to you)")
