"""Rules of the assessments app that other paths ask (one home each)."""

from __future__ import annotations

from django.utils.translation import gettext as _


def objective_link_refusals(*, objective_ids, objectives: dict, partner_ids: set[int]) -> list[str]:
    """Why an engagement cannot serve these objectives, every reason at once: an objective must exist and
    belong to a partner that takes part in the engagement. ``objectives``: the existing ones by id."""
    problems = []
    for objective_id in objective_ids:
        objective = objectives.get(objective_id)
        if objective is None:
            problems.append(_("Objective %(id)s does not exist.") % {"id": objective_id})
        elif objective.partner_id not in partner_ids:
            problems.append(
                _("Objective %(id)s (“%(title)s”) is %(partner)s's, which does not take part in this engagement.")
                % {"id": objective_id, "title": objective.title, "partner": objective.partner.name}
            )
    return problems


# --- what-if scoring models -------------------------------------------------------------------------------
# Who may draft, preview and read draft scoring models (analysts, admins), and who may activate one (admins):
# asked by the pages, their buttons and the API alike. What a valid draft is, is ScoringParameters.clean.
DRAFT_PERMISSION = "assessments.add_scoringmodeldraft"
ACTIVATE_PERMISSION = "assessments.activate_scoringmodeldraft"


def may_draft_scoring_models(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(DRAFT_PERMISSION))


def may_activate_scoring_models(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(ACTIVATE_PERMISSION))
