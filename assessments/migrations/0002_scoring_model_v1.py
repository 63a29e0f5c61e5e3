"""Scoring model version 1, active, with the parameters of DESIGN.md ("The scoring model (version 1)")."""

from django.db import migrations

V1 = {
    "version": 1,
    "weights": {
        "activity": 0.15,
        "interoperability": 0.15,
        "capacity": 0.15,
        "trust": 0.15,
        "continuity": 0.15,
        "multilateral": 0.10,
        "objectives": 0.15,
    },
    "half_life_days": 365,
    "lookback_quarters": 8,
    "activity_scale": 4.0,
    "description": "Version 1: recency-weighted activity, AAR ratings, continuity, multilateral share, objectives.",
}


def create_v1(apps, schema_editor):
    ScoringModel = apps.get_model("assessments", "ScoringModel")
    if not ScoringModel.objects.filter(version=1).exists():
        ScoringModel.objects.create(is_active=not ScoringModel.objects.filter(is_active=True).exists(), **V1)


def remove_v1(apps, schema_editor):
    ScoringModel = apps.get_model("assessments", "ScoringModel")
    ScoringModel.objects.filter(version=1, scores__isnull=True, runs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(create_v1, remove_v1)]
