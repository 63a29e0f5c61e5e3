"""Writes of the engagements app: the one path for pages, API, imports, admin, commands and tasks.

``inputs`` checks (the check-only steps, one validator for every path), ``engagements`` writes,
``references`` hands out references, ``changes`` is the outbox of partners whose scores went stale.
"""

from engagements.rules import AAR_FIELDS, ENGAGEMENT_FIELDS
from engagements.services.approvals import (
    ApprovalRefused,
    approval_request,
    engagement_approve,
    engagement_refuse,
)
from engagements.services.changes import changes_coalesced
from engagements.services.engagements import (
    BulkCreation,
    OutOfScope,
    SaveResult,
    StaleVersionError,
    after_action_submit,
    creator_check,
    engagement_change_status,
    engagement_create,
    engagement_create_apply,
    engagement_delete,
    engagement_update,
    engagement_update_apply,
    engagement_update_check,
    engagements_bulk_create,
    scope_check,
    series_create,
    with_owner_unit,
)
from engagements.services.feeds import calendar_feed_reset
from engagements.services.findings import finding_dismiss
from engagements.services.inputs import (
    KEEP,
    CleanEngagement,
    InputError,
    Lookups,
    after_action_clean,
    engagement_bulk_create_clean,
    engagement_create_clean,
    engagement_update_clean,
)
from engagements.services.references import reference_allocate, reference_reserve
from engagements.services.saved_filters import saved_filter_create, saved_filter_delete, saved_filter_update
from engagements.services.search import engagement_search_refresh

__all__ = [
    "AAR_FIELDS",
    "ApprovalRefused",
    "BulkCreation",
    "OutOfScope",
    "approval_request",
    "engagement_approve",
    "engagement_refuse",
    "ENGAGEMENT_FIELDS",
    "KEEP",
    "CleanEngagement",
    "InputError",
    "Lookups",
    "SaveResult",
    "StaleVersionError",
    "after_action_clean",
    "after_action_submit",
    "calendar_feed_reset",
    "changes_coalesced",
    "engagement_bulk_create_clean",
    "creator_check",
    "engagement_change_status",
    "engagement_create",
    "engagement_create_apply",
    "engagement_create_clean",
    "engagement_delete",
    "engagement_search_refresh",
    "engagement_update",
    "engagement_update_apply",
    "engagement_update_check",
    "engagement_update_clean",
    "engagements_bulk_create",
    "finding_dismiss",
    "reference_allocate",
    "reference_reserve",
    "saved_filter_create",
    "saved_filter_delete",
    "saved_filter_update",
    "scope_check",
    "series_create",
    "with_owner_unit",
]
