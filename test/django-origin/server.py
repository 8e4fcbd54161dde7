"""
The Django origin of the differential tests: migrates a fresh SQLite database, creates the test
users, and serves the app on 127.0.0.1 (DJANGO_ORIGIN_PORT, default 0 = a free port) with a
threaded WSGI server, printing `http://127.0.0.1:PORT` once it accepts connections.

Run with Debian's Django: /usr/bin/python3 test/django-origin/server.py
"""
import io
import os
import shutil
import signal
import socketserver
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

# Keep the work tree free of __pycache__ folders.
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "origin.settings")

# username -> password; the tests know the same table (test/worker/django.ts).
USERS = {
    "alice": "alice-correct-pw",
    "bob": "bob-correct-pw",
    "carol": "carol-correct-pw",
    "dave": "dave-correct-pw",
    "erin": "erin-correct-pw",
}

MAX_CHUNKED_BODY = 10 * 1024 * 1024


def read_chunked(stream):
    """The body of a chunked request, as a proxy in front of Django (nginx) passes it on."""
    body = bytearray()
    while True:
        line = stream.readline(1024)
        if not line:
            raise ValueError("chunked body ended early")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        if len(body) + size > MAX_CHUNKED_BODY:
            raise ValueError("chunked body too large")
        body += stream.read(size)
        stream.readline(8)


def dechunked(app):
    # Django reads CONTENT_LENGTH bytes only; a front proxy (nginx, gunicorn) de-chunks for it.
    def wrapped(environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            try:
                body = read_chunked(environ["wsgi.input"])
            except ValueError as error:
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [f"{error}\n".encode()]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return wrapped


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def prepare():
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth.models import User

    for username, password in USERS.items():
        User.objects.create_user(username=username, password=password)


def main():
    from django.conf import settings

    prepare()
    from django.core.wsgi import get_wsgi_application

    port = int(os.environ.get("DJANGO_ORIGIN_PORT", "0"))
    server = make_server("127.0.0.1", port, dechunked(get_wsgi_application()), ThreadingWSGIServer, QuietHandler)
    database_dir = os.path.dirname(settings.DATABASES["default"]["NAME"])

    def stop(*_):
        server.server_close()
        if not os.environ.get("DJANGO_ORIGIN_DB"):
            shutil.rmtree(database_dir, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    # A test runner killed outright sends no SIGTERM: leave when the parent is gone.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(1)
        stop()

    threading.Thread(target=watch_parent, daemon=True).start()
    print(f"django origin listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
