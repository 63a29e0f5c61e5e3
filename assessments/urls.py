from django.urls import path

from assessments import dashboard_views, views, whatif_views

app_name = "assessments"

urlpatterns = [
    path("", dashboard_views.overview, name="overview"),
    path("compare/", dashboard_views.compare, name="compare"),
    path("network/", dashboard_views.network, name="network"),
    path("partners/<str:iso3>/", dashboard_views.partner_scores, name="partner"),
    path("organizations/<str:acronym>/", dashboard_views.organization_dashboard, name="organization"),
    path("regions/<slug:slug>/", dashboard_views.region_dashboard, name="region"),
    path("methodology/", dashboard_views.methodology, name="methodology"),
    path("recompute/", dashboard_views.recompute, name="recompute"),
    path("runs/<uuid:run_id>/status/", dashboard_views.run_status, name="run-status"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run"),
    path("scoring-models/", whatif_views.scoring_model_list, name="scoring-models"),
    path("scoring-models/new/", whatif_views.scoring_model_create, name="scoring-model-create"),
    path("scoring-models/<int:pk>/", whatif_views.scoring_model_detail, name="scoring-model"),
    path("scoring-models/<int:pk>/edit/", whatif_views.scoring_model_edit, name="scoring-model-edit"),
    path("scoring-models/<int:pk>/delete/", whatif_views.scoring_model_delete, name="scoring-model-delete"),
    path("scoring-models/<int:pk>/preview/", whatif_views.scoring_model_preview, name="scoring-model-preview"),
    path("scoring-models/<int:pk>/activate/", whatif_views.scoring_model_activate, name="scoring-model-activate"),
    path("objectives/", views.objective_list, name="objectives"),
    path("objectives/new/", views.objective_create, name="objective-create"),
    path("objectives/<int:pk>/", views.objective_detail, name="objective"),
    path("objectives/<int:pk>/edit/", views.objective_update, name="objective-update"),
    path("objectives/<int:pk>/delete/", views.objective_delete, name="objective-delete"),
    path("indicators/new/", views.indicator_create, name="indicator-create"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator"),
    path("indicators/<int:pk>/edit/", views.indicator_update, name="indicator-update"),
    path("indicators/<int:pk>/delete/", views.indicator_delete, name="indicator-delete"),
    path("measurements/new/", views.measurement_create, name="measurement-create"),
    path("measurements/<int:pk>/edit/", views.measurement_update, name="measurement-update"),
    path("measurements/<int:pk>/delete/", views.measurement_delete, name="measurement-delete"),
]
