from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class PartnerNation(models.Model):
    """A country as ISO 3166-1 names it: the partner a planner engages with and an analyst scores.

    ``iso3`` is the public key in URLs and the API. Region and subregion follow the UN M49 geoscheme;
    the point is where the country's marker sits on maps.
    """

    iso2 = models.CharField(_("ISO alpha-2"), max_length=2, unique=True)
    iso3 = models.CharField(_("ISO alpha-3"), max_length=3, unique=True)
    iso_numeric = models.CharField(_("ISO numeric"), max_length=3, unique=True)
    name = models.CharField(_("name"), max_length=120)
    official_name = models.CharField(_("official name"), max_length=200, blank=True)
    region = models.CharField(_("region (UN M49)"), max_length=60, blank=True, db_index=True)
    subregion = models.CharField(_("subregion (UN M49)"), max_length=60, blank=True, db_index=True)
    intermediate_region = models.CharField(_("intermediate region (UN M49)"), max_length=60, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    # The name, official name and aliases without accents or case (partners.text.names_key): what partner,
    # engagement and import searches compare with, on any database.
    search_key = models.TextField(_("search key"), blank=True, default="", editable=False)
    history = HistoricalRecords(excluded_fields=["search_key"])

    class Meta:
        verbose_name = _("partner nation")
        verbose_name_plural = _("partner nations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="partner_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="partner_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def region_levels(self) -> list[str]:
        """Region, subregion and intermediate region (UN M49), those that are set, widest first."""
        return [part for part in (self.region, self.subregion, self.intermediate_region) if part]

    @property
    def region_path(self) -> str:
        """ "Africa / Sub-Saharan Africa / Western Africa": the M49 hierarchy in one line."""
        return " / ".join(self.region_levels)


class PartnerAlias(models.Model):
    """Another name a country is known by: a former name ("Swaziland"), a common one ("Ivory Coast") or the
    UN's formal short name. Shipped reference data; searches and the import's country column use it."""

    class Kind(models.TextChoices):
        FORMER = "former", _("former name")
        COMMON = "common", _("common name")
        UN = "un", _("UN name")
        ISO = "iso", _("ISO 3166-1 name")

    partner = models.ForeignKey(
        PartnerNation, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="aliases"
    )
    name = models.CharField(_("alias"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key = models.CharField(_("search key"), max_length=200, db_index=True, editable=False)

    class Meta:
        verbose_name = _("country alias")
        verbose_name_plural = _("country aliases")
        ordering = ["partner__name", "name"]
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="partner_alias_unique_key")]

    def __str__(self) -> str:
        return f"{self.name} ({self.partner.iso3})"
