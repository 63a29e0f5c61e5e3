"""Create the four role groups of DESIGN.md. Their permissions are synced after every `migrate`
(core.services.roles_sync), because permissions of models added later only exist after their migrations."""

from django.db import migrations

ROLES = ["viewer", "analyst", "planner", "admin"]


def create_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for name in ROLES:
        group_model.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
