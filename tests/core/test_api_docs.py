"""The API documentation pages (Swagger UI, Redoc) load everything from the application itself, in
development and with production's hashed static files. tests/e2e/test_own_origin.py watches a real browser."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import drf_spectacular_sidecar
import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DOC_PAGES = ["/api/docs/", "/api/redoc/"]
STATIC_REFERENCE = re.compile(r"""(?:src|href)=["'](/static/[^"'?#]+)""")


def vendor_redoc():
    spec = importlib.util.spec_from_file_location("vendor_redoc", ROOT / "scripts" / "vendor_redoc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def static_references(client) -> dict[str, list[str]]:
    """The static files each documentation page (and Swagger UI's start-up script) asks for."""
    found = {}
    for path in DOC_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        found[path] = STATIC_REFERENCE.findall(response.content.decode())
        assert found[path], path
    return found


def test_redoc_page_loads_a_bundle_without_the_cdn_logo(client_for, viewer):
    references = static_references(client_for(viewer))["/api/redoc/"]
    scripts = [name for name in references if name.endswith(".js")]
    assert scripts == ["/static/vendor/redoc/redoc.standalone.js"]
    bundle = Path(finders.find(scripts[0].removeprefix("/static/"))).read_text(encoding="utf-8")
    assert "Redoc" in bundle and "cdn.redoc.ly" not in bundle
    # The one remaining address to redocly.com is a link, hidden by our template; no image, font or script.
    assert not re.search(r'src:"https?://', bundle)


def test_vendored_redoc_is_the_pinned_sidecar_bundle_patched():
    """The committed copy is exactly what scripts/vendor_redoc.py makes of the installed sidecar: upgrading
    drf-spectacular-sidecar without `make assets` fails here instead of serving an old Redoc."""
    source = Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/redoc/bundles"
    original = (source / "redoc.standalone.js").read_text(encoding="utf-8")
    vendored = (ROOT / "static/vendor/redoc/redoc.standalone.js").read_text(encoding="utf-8")
    assert "cdn.redoc.ly" in original
    assert vendored == vendor_redoc().patched(original)
    assert drf_spectacular_sidecar.__version__ in (ROOT / "static/vendor/redoc/VERSION").read_text()


def test_swagger_ui_shows_no_validator_badge(client_for, viewer):
    script = client_for(viewer).get("/api/docs/?script=").content.decode()
    assert re.search(r'"validatorUrl":\s*null', script)


def collect_for_production(prefixes: tuple[str, ...]) -> None:
    """What collectstatic does with DJANGO_DEBUG=0 (copy every file, then hash and rewrite references), with
    the hashing limited to the files under ``prefixes``: the files the documentation pages need."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    found = {}
    for finder in finders.get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            if path not in found:
                found[path] = (storage, path)
                with storage.open(path) as source:
                    staticfiles_storage.save(path, source)
    wanted = {path: origin for path, origin in found.items() if path.startswith(prefixes)}
    for name, _hashed, processed in staticfiles_storage.post_process(wanted):
        # A reference to a file that is not shipped (an absent source map ...) fails here, as in production.
        assert not isinstance(processed, Exception), (name, processed)


def test_doc_pages_reference_only_files_that_production_collects(client_for, viewer, settings, tmp_path):
    """With DJANGO_DEBUG=0 the pages name hashed files that collectstatic wrote, and collectstatic does not
    fail on a reference inside the files they load (a source map that is not shipped, say)."""
    client = client_for(viewer)
    needed = {name for names in static_references(client).values() for name in names}
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    collect_for_production(tuple(sorted({name.removeprefix("/static/").rsplit("/", 1)[0] + "/" for name in needed})))
    references = static_references(client)
    for page, names in references.items():
        for name in names:
            assert re.search(r"\.[0-9a-f]{12}\.", name), (page, name)
            assert (settings.STATIC_ROOT / name.removeprefix("/static/")).is_file(), (page, name)
    assert any("vendor/redoc/redoc.standalone." in name for name in references["/api/redoc/"])
