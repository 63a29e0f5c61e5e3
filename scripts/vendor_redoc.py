"""Copy Redoc's standalone bundle from the pinned drf-spectacular-sidecar into static/vendor/redoc/, patched.

Redoc renders Redocly's logo from a CDN in its side menu, with no option to turn it off; under our CSP the
browser refuses it and logs an error, and on a closed network it is a request to a host that cannot be
reached. The copy replaces that one image with nothing and drops the source-map comment (the map does not
describe the patched file, and collectstatic must not look for a file that is not shipped). Run by
`make assets`; tests/core/test_vendored_redoc.py checks that the committed copy is exactly this output.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import drf_spectacular_sidecar

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar" / "redoc"
DESTINATION = ROOT / "static" / "vendor" / "redoc"
BUNDLE = "redoc.standalone.js"
# The minified element of the logo: createElement("img",{alt:"redocly logo",...,src:"https://cdn.redoc.ly/..."})
LOGO = re.compile(r'\w+\.createElement\("img",\{alt:"redocly logo",[^{}]*src:"https://cdn\.redoc\.ly/[^"]*"\}\)')
SOURCE_MAP = re.compile(r"\n//# sourceMappingURL=\S+\s*$")


def patched(text: str) -> str:
    """The bundle without the CDN logo and the source-map comment; refuses a bundle it does not recognise."""
    text, logos = LOGO.subn("null", text)
    text, maps = SOURCE_MAP.subn("\n", text)
    if logos != 1 or maps != 1:
        raise SystemExit(f"Unexpected Redoc bundle: {logos} logo(s), {maps} source map comment(s); review the patch.")
    if "cdn.redoc.ly" in text:
        raise SystemExit("The patched Redoc bundle still names cdn.redoc.ly; review the patch.")
    return text


def main() -> None:
    DESTINATION.mkdir(parents=True, exist_ok=True)
    bundle = (SOURCE / "bundles" / BUNDLE).read_text(encoding="utf-8")
    (DESTINATION / BUNDLE).write_text(patched(bundle), encoding="utf-8")
    shutil.copyfile(SOURCE / "LICENSE", DESTINATION / "LICENSE")
    shutil.copyfile(SOURCE / "bundles" / f"{BUNDLE}.LICENSE.txt", DESTINATION / f"{BUNDLE}.LICENSE.txt")
    version = drf_spectacular_sidecar.__version__
    (DESTINATION / "VERSION").write_text(
        f"redoc from drf-spectacular-sidecar {version}, without the CDN logo (scripts/vendor_redoc.py)\n",
        encoding="utf-8",
    )
    sys.stdout.write(f"static/vendor/redoc updated from drf-spectacular-sidecar {version}\n")


if __name__ == "__main__":
    main()
