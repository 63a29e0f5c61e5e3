from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    MILITARY_ALLIANCE = "military_alliance", _("Military alliance")
    CONTINENTAL_UNION = "continental_union", _("Continental union")
    REGIONAL_ECONOMIC_COMMUNITY = "regional_economic_community", _("Regional economic community")
    INTERGOVERNMENTAL = "intergovernmental", _("Intergovernmental organization")
    UN_BODY = "un_body", _("UN body")


class MembershipStatus(models.TextChoices):
    MEMBER = "member", _("Member")
    SUSPENDED = "suspended", _("Suspended")
    PARTNER = "partner", _("Partner")
    OBSERVER = "observer", _("Observer")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Suspended members are still members (their status says suspended); partners and observers are not.
MEMBER_STATUSES = (MembershipStatus.MEMBER, MembershipStatus.SUSPENDED)


class MembershipSource(models.TextChoices):
    REFERENCE_DATA = "reference_data", _("Shipped reference data")
    USER = "user", _("Entered in the application")
