from django.urls import path

from partners import views

app_name = "partners"

urlpatterns = [
    path("", views.partner_list, name="list"),
    path("<str:iso3>/", views.partner_detail, name="detail"),
]
