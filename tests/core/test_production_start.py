"""The production start's static files: `collectstatic` with debug off, and pages served from its manifest.

With debug off, static files are served by WhiteNoise from a manifest of hashed names. `collectstatic`
refuses a file whose references (a source map, a font, an image in a stylesheet) are missing, and a page
naming a file the manifest lacks is a 500. CI's production check (scripts/production_check.py) starts the
whole stack; these tests keep the two failures inside `make test`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("staticfiles")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "collectstatic-check-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "engagements.example.org",
            "DJANGO_STATIC_ROOT": str(target),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def test_collectstatic_with_debug_off_writes_a_manifest_of_every_file(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    for name in ("css/app.css", "vendor/chart.js/chart.umd.min.js", "vendor/chart.js/chart.umd.min.js.map"):
        assert name in manifest
        assert (collected / manifest[name]).is_file()
    # Every file of our own static folder is in the manifest, vendored ones included.
    own = {p.relative_to(ROOT / "static").as_posix() for p in (ROOT / "static").rglob("*") if p.is_file()}
    assert own <= set(manifest)


@pytest.mark.django_db
def test_pages_render_from_the_manifest(collected, client, settings, django_user_model):
    """A template naming a file that collectstatic did not collect fails here, as it would in production."""
    settings.STATIC_ROOT = collected
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    assert f'/static/{manifest["css/app.css"]}' in login.content.decode()
    user = django_user_model.objects.create_superuser("root", "root@example.org", "pw-for-tests-123")
    client.force_login(user)
    for path in ("/", "/engagements/", "/engagements/new/", "/engagements/calendar/", "/assessments/", "/partners/"):
        assert client.get(path).status_code == 200, path
