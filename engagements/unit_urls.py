from django.urls import path

from engagements import unit_views

app_name = "units"

urlpatterns = [
    path("", unit_views.unit_list, name="list"),
    path("new/", unit_views.unit_create, name="create"),
    path("<str:code>/", unit_views.unit_detail, name="detail"),
    path("<str:code>/edit/", unit_views.unit_edit, name="edit"),
]
