from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("allauth/", include("allauth.urls")),
    path("api/basic/", views.basic_api),
    path("api/async-basic/", views.async_basic_api),
    path("api/drf/", views.DrfBasicApi.as_view()),
    path("checks/", csrf_exempt(views.several_checks)),
    path("public/", views.public),
    path("healthz", views.healthz),
    path("healthz/db", views.healthz),
    path("healthzz", views.healthz),
]
