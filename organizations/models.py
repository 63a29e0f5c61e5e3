from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from organizations.choices import MEMBER_STATUSES, MembershipSource, MembershipStatus, OrganizationKind


class Organization(models.Model):
    """A framework engagements run under: an alliance, a union, a regional community, the UN.

    ``acronym`` is the public key in URLs and the API.
    """

    acronym = models.CharField(_("acronym"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=40, choices=OrganizationKind.choices)
    founded = models.DateField(_("founded"), null=True, blank=True)
    headquarters = models.ForeignKey(
        "partners.PartnerNation",
        verbose_name=_("headquarters"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosted_organizations",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text=_("For example, ECOWAS and SADC are regional economic communities of the AU."),
    )
    description = models.TextField(_("description"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["acronym"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="organization_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.acronym

    def clean(self):
        ancestor, seen = self.parent, set()
        while ancestor is not None and self.pk is not None:
            if ancestor.pk == self.pk or ancestor.pk in seen:
                raise ValidationError({"parent": _("An organization cannot be its own ancestor.")})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent


def active_on_q(on, prefix: str = "") -> Q:
    """Rows whose period covers day ``on``: joined <= on < left, with empty ends open."""
    return (Q(**{f"{prefix}joined__isnull": True}) | Q(**{f"{prefix}joined__lte": on})) & (
        Q(**{f"{prefix}left__isnull": True}) | Q(**{f"{prefix}left__gt": on})
    )


class MembershipQuerySet(models.QuerySet):
    def active_on(self, on):
        """Every state (member, suspended, observer ...) in force on day ``on``."""
        return self.filter(active_on_q(on))

    def members_on(self, on):
        """Members on day ``on``; suspended members count, partners and observers do not."""
        return self.active_on(on).filter(status__in=MEMBER_STATUSES)


class Membership(models.Model):
    """One dated state of a partner in an organization: a membership, a suspension, a withdrawal...

    ``joined`` is the first day of the state and ``left`` the first day without it, so the members on
    day D are the rows with joined <= D < left (an empty ``joined`` means "since before our records", an
    empty ``left`` "still so"). A suspension or a readmission is a new row: history is never overwritten.
    """

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="memberships"
    )
    partner = models.ForeignKey(
        "partners.PartnerNation", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="memberships"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=MembershipStatus.choices, default=MembershipStatus.MEMBER
    )
    joined = models.DateField(
        _("from"), null=True, blank=True, help_text=_("First day of this status; empty if unknown.")
    )
    left = models.DateField(
        _("until"), null=True, blank=True, help_text=_("First day without this status; empty if ongoing.")
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    source = models.CharField(
        _("source"),
        max_length=20,
        choices=MembershipSource.choices,
        default=MembershipSource.USER,
        help_text=_("Rows entered in the application are never removed by reloading the reference data."),
    )
    history = HistoricalRecords()

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__acronym", "partner__name", "joined"]
        indexes = [
            models.Index(fields=["organization", "status", "joined", "left"], name="membership_on_date"),
            models.Index(fields=["partner", "joined"], name="membership_partner_history"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(joined__isnull=True) | Q(left__isnull=True) | Q(left__gt=F("joined")),
                name="membership_left_after_joined",
                violation_error_message=_("The end date must be after the start date."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} in {self.organization}: {self.get_status_display()}"

    def clean(self):
        if self.joined and self.left and self.left <= self.joined:
            raise ValidationError({"left": _("The end date must be after the start date.")})
        if self.organization_id and self.partner_id:
            from organizations.selectors import overlapping_memberships

            clash = overlapping_memberships(
                organization_id=self.organization_id,
                partner_id=self.partner_id,
                joined=self.joined,
                left=self.left,
                exclude_id=self.pk,
            ).first()
            if clash is not None:
                raise ValidationError(
                    _(
                        "This period overlaps another row for the same partner (%(status)s from %(joined)s until %(left)s)."
                    )
                    % {
                        "status": clash.get_status_display(),
                        "joined": clash.joined or _("unknown"),
                        "left": clash.left or _("today"),
                    }
                )
