#!/usr/bin/env bash
# Runs the companion's tests with Django's test runner on Debian's interpreter (python3-django,
# python3-django-allauth, python3-djangorestframework, python3-django-axes). Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-/usr/bin/python3}
echo "Django companion tests: $("$python" -c 'import django, sys; print(f"Django {django.get_version()} on Python {sys.version.split()[0]}")')"
exec "$python" -m django test --settings=tests.settings --verbosity "${VERBOSITY:-1}" "$@"
