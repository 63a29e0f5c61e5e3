"""Scores get ``report_count`` and ``confidence`` (DESIGN.md, "Second edition": Scores).

Scores stored before this migration are filled in from the same aggregate a run uses, one query per stored
quarter and scoring model, so that old quarters do not all read "low" until they are recomputed. A new
database has no scores, and nothing is computed.
"""

from django.db import migrations, models


def backfill(apps, schema_editor):
    PartnerScore = apps.get_model("assessments", "PartnerScore")
    if not PartnerScore.objects.exists():
        return
    # The live code, on purpose: the rule has one home (scoring.confidence_of), and this migration is the
    # latest that touches scores, so the live models match the schema here.
    from assessments.models import ScoringModel
    from assessments.periods import Quarter
    from assessments.services.scoring import _engagement_sums, confidence_of

    pairs = PartnerScore.objects.order_by().values_list("scoring_model_id", "period").distinct()
    models_by_id = {m.pk: m for m in ScoringModel.objects.all()}
    for model_id, period in pairs:
        rows = list(PartnerScore.objects.filter(scoring_model_id=model_id, period=period))
        sums = _engagement_sums(
            quarter=Quarter.of(period), model=models_by_id[model_id], partner_ids=[r.partner_id for r in rows]
        )
        for row in rows:
            inputs = sums.get(row.partner_id)
            row.report_count = inputs.rated_count if inputs else 0
            row.confidence = confidence_of(engagement_count=row.engagement_count, report_count=row.report_count)
        PartnerScore.objects.bulk_update(rows, ["report_count", "confidence"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0006_delete_scoringlease"),
    ]

    operations = [
        migrations.AddField(
            model_name="partnerscore",
            name="confidence",
            field=models.CharField(
                choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
                db_index=True,
                default="low",
                max_length=8,
                verbose_name="confidence",
            ),
        ),
        migrations.AddField(
            model_name="partnerscore",
            name="report_count",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Counted engagements with an after-action report.",
                verbose_name="after-action reports",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
