"""Every engagement that existed before units is owned by the default unit (settings DEFAULT_UNIT_CODE and
DEFAULT_UNIT_NAME), created here if missing; then owner_unit becomes required."""

from django.conf import settings
from django.db import migrations


def assign_default_unit(apps, schema_editor):
    unit_model = apps.get_model("core", "Unit")
    unit, _created = unit_model.objects.get_or_create(
        code=settings.DEFAULT_UNIT_CODE, defaults={"name": settings.DEFAULT_UNIT_NAME}
    )
    for model_name in ("Engagement", "HistoricalEngagement"):
        apps.get_model("engagements", model_name).objects.filter(owner_unit__isnull=True).update(owner_unit=unit)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_units"),
        ("engagements", "0010_owner_unit_contact_approvals"),
    ]

    operations = [migrations.RunPython(assign_default_unit, migrations.RunPython.noop)]
