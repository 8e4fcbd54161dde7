from django.apps import AppConfig


class OriginConfig(AppConfig):
    name = "origin"
    default = True

    def ready(self):
        from . import authlog

        authlog.connect()
