from django.urls import path

from engagements import import_views

app_name = "engagements"

urlpatterns = [
    path("import/", import_views.engagement_import, name="import"),
    path("import/template.<str:fmt>", import_views.import_template, name="import_template"),
]
