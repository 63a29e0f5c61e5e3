from django.urls import path

from engagements import calendar_views, import_views, saved_filter_views, views

app_name = "engagements"

urlpatterns = [
    path("import/", import_views.engagement_import, name="import"),
    path("import/template.<str:fmt>", import_views.import_template, name="import_template"),
    path("", views.engagement_list, name="list"),
    path("new/", views.engagement_create, name="create"),
    path("calendar/", calendar_views.engagement_calendar, name="calendar"),
    path("calendar/feed/reset/", calendar_views.calendar_feed_reset, name="calendar_feed_reset"),
    path("calendar/feed/<slug:secret>.ics", calendar_views.calendar_feed, name="calendar_feed"),
    path("saved-filters/", saved_filter_views.saved_filter_create, name="saved_filter_create"),
    path("saved-filters/<int:pk>/", saved_filter_views.saved_filter_apply, name="saved_filter"),
    path("saved-filters/<int:pk>/delete/", saved_filter_views.saved_filter_delete, name="saved_filter_delete"),
    path("series/", views.series_list, name="series_list"),
    path("series/<slug:slug>/", views.series_detail, name="series_detail"),
    path("<int:pk>/", views.engagement_detail, name="detail"),
    path("<int:pk>/edit/", views.engagement_edit, name="edit"),
    path("<int:pk>/status/", views.engagement_status, name="status"),
    path("<int:pk>/after-action/", views.engagement_after_action, name="after_action"),
    path("<int:pk>/delete/", views.engagement_delete, name="delete"),
    path("<int:pk>/findings/<int:other>/dismiss/", views.finding_dismiss, name="finding_dismiss"),
    path("<int:pk>/request-approval/", views.engagement_request_approval, name="request_approval"),
    path("<int:pk>/approve/", views.engagement_approve, name="approve"),
    path("<int:pk>/refuse/", views.engagement_refuse, name="refuse"),
]
