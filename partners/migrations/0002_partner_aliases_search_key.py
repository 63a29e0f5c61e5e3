import django.db.models.deletion
from django.db import migrations, models

from partners.text import names_key


def fill_search_keys(apps, schema_editor):
    """Keys from the names already stored, so search works before the reference data are reloaded (which
    adds the shipped aliases: ``load_reference_data``, run by ``bootstrap_demo`` after ``migrate``)."""
    partner_model = apps.get_model("partners", "PartnerNation")
    for partner in partner_model.objects.only("pk", "name", "official_name"):
        partner_model.objects.filter(pk=partner.pk).update(search_key=names_key([partner.name, partner.official_name]))


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="partnernation",
            name="search_key",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="search key"),
        ),
        migrations.CreateModel(
            name="PartnerAlias",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200, verbose_name="alias")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("former", "former name"),
                            ("common", "common name"),
                            ("un", "UN name"),
                            ("iso", "ISO 3166-1 name"),
                        ],
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                ("key", models.CharField(db_index=True, editable=False, max_length=200, verbose_name="search key")),
                (
                    "partner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="aliases",
                        to="partners.partnernation",
                        verbose_name="partner",
                    ),
                ),
            ],
            options={
                "verbose_name": "country alias",
                "verbose_name_plural": "country aliases",
                "ordering": ["partner__name", "name"],
                "constraints": [models.UniqueConstraint(fields=("partner", "key"), name="partner_alias_unique_key")],
            },
        ),
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop, elidable=True),
    ]
