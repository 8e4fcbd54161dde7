from django.contrib.auth.views import LoginView
from django.urls import path

from . import views

urlpatterns = [
    path("accounts/login/", LoginView.as_view()),
    path("accounts/login-redirect/", LoginView.as_view(redirect_authenticated_user=True)),
    path("plain/login/", views.plain_login),
    path("query-first/login/", views.query_first_login),
    path("api/login/", views.json_login),
    path("done/", views.done),
    path("__test/auth-log", views.auth_log),
    path("__test/auth-log/clear", views.auth_log_clear),
]
