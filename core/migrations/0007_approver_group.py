"""Create the approver group (four-eyes approval). Its permissions are synced after every `migrate`
(core.services.roles_sync), like the other role groups of 0002_role_groups."""

from django.db import migrations


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name="approver")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_units"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
