"""The interface in French: the catalogue is complete and compiled, the main pages show no English
interface string of our own templates, the language switcher works and dates and numbers follow the
language.

The catalogue is read with a small .po parser (no gettext tools needed) and the compiled .mo with Python's
``gettext`` module, so CI needs neither msgfmt nor polib.
"""

from __future__ import annotations

import datetime
import gettext
import html as html_lib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils.text import slugify

from engagements import services
from engagements.models import ExerciseSeries

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
PO = LOCALE / "django.po"
MO = LOCALE / "django.mo"
NBSP = "\u00a0"
D = datetime.date
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


# --- a tiny .po parser ----------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (a dict of form index -> text),
    flags and references. Obsolete entries (``#~``) are left out."""
    entries: list[dict] = []
    entry: dict | None = None
    key = None

    def finish():
        if entry is not None and key is not None:
            entries.append(entry)

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is not None and key is not None and key[0] == "msgstr":
                finish()
                entry, key = None, None
            if entry is None:
                entry = {"msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}, "flags": [], "refs": []}
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#:"):
                entry["refs"] += line[2:].split()
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$', line)
        if match:
            keyword, index, value = match.group(1), match.group(2), _unquote(match.group(3))
            if keyword in ("msgctxt", "msgid") and key is not None and key[0] == "msgstr":
                finish()
                entry, key = None, None
            if entry is None:
                entry = {"msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}, "flags": [], "refs": []}
            if keyword.startswith("msgstr"):
                key = ("msgstr", int(index or 0))
                entry["msgstr"][key[1]] = value
            else:
                key = (keyword,)
                entry[keyword] = value
        elif line.startswith('"') and entry is not None and key is not None:
            if key[0] == "msgstr":
                entry["msgstr"][key[1]] += _unquote(line)
            else:
                entry[key[0]] += _unquote(line)
    finish()
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    return parse_po(PO)


def _messages(catalog) -> list[dict]:
    return [e for e in catalog if e["msgid"]]


# --- the catalogue --------------------------------------------------------------------------------------


def test_header_declares_french_plurals(catalog):
    header = next(e for e in catalog if e["msgid"] == "")["msgstr"][0]
    assert "Language: fr\n" in header
    assert "Plural-Forms: nplurals=2; plural=(n > 1);\n" in header
    assert "charset=UTF-8" in header


def test_every_message_is_translated_and_none_is_fuzzy(catalog):
    messages = _messages(catalog)
    assert len(messages) > 700  # the whole interface, not a sample
    untranslated = [e["msgid"] for e in messages if not all(v.strip() for v in e["msgstr"].values())]
    assert untranslated == []
    assert [e["msgid"] for e in catalog if "fuzzy" in e["flags"]] == []
    plurals = [e for e in messages if e["msgid_plural"] is not None]
    assert plurals and all(sorted(e["msgstr"]) == [0, 1] for e in plurals)


def test_placeholders_are_kept(catalog):
    """Every %(name)s of the English text is in the French one, and nothing else is."""
    wrong = []
    for e in _messages(catalog):
        expected = sorted(PLACEHOLDER.findall(e["msgid_plural"] or e["msgid"]))
        for form, text in e["msgstr"].items():
            found = sorted(PLACEHOLDER.findall(text))
            # The singular form may drop a count that can only be one; French plural form 0 also covers 0,
            # so here every form must keep every placeholder.
            if found != expected:
                wrong.append((e["msgid"], form, text))
        if "%%" in e["msgid"] and not all("%%" in text for text in e["msgstr"].values()):
            wrong.append((e["msgid"], "%%", e["msgstr"]))
    assert wrong == []


def test_compiled_catalogue_matches_the_po_file(catalog):
    """The committed .mo is what compilemessages makes of the committed .po: recompile after editing."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for e in _messages(catalog):
        key = e["msgid"] if e["msgctxt"] is None else f"{e['msgctxt']}\x04{e['msgid']}"
        if e["msgid_plural"] is None:
            expected[key] = e["msgstr"][0]
        else:
            for form, text in e["msgstr"].items():
                expected[(key, form)] = text
    compiled = {k: v for k, v in compiled.items() if k != ""}
    assert set(compiled) == set(expected), "locale/fr/LC_MESSAGES/django.mo is stale: run compilemessages"
    assert {k: v for k, v in expected.items() if compiled[k] != v} == {}


# --- pages in French ------------------------------------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text a person reads or hears: text nodes and the title, placeholder, aria-label and alt
    attributes; not scripts, styles, the hidden row template of the participants table, nor code (column
    names, record types), which is the same in every language."""

    SKIP = {"script", "style", "template", "code", "pre", "kbd", "samp"}
    ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " | ".join(parser.parts))


def _pattern(text: str) -> re.Pattern | None:
    """A regex finding ``text`` (an English msgid) in visible text: a placeholder matches any value within
    one text node, a tag any run of node separators, a space any whitespace. None when too little of it is
    fixed wording to be telling."""
    text = text.replace("%%", "%").strip()
    tokens = re.findall(r"%\(\w+\)[sd]|%[sd]|<[^>]+>|\s+|[^\s<%]+|[<%]", text)
    if len(re.findall(r"[A-Za-z]", re.sub(r"%\(\w+\)[sd]|<[^>]+>", "", text))) < 4:
        return None
    parts = []
    for token in tokens:
        if re.fullmatch(r"%\(\w+\)[sd]|%[sd]", token):
            parts.append(r"[^|]{1,200}?")
        elif token.startswith("<") and token.endswith(">"):
            parts.append(r"[\s|]*")
        elif token.isspace():
            parts.append(r"\s+")
        else:
            parts.append(re.escape(token))
    start = r"\b" if re.match(r"\w", text) else ""
    end = r"\b" if re.search(r"\w$", text) else ""
    return re.compile(start + "".join(parts) + end)


@pytest.fixture(scope="module")
def english_template_strings(catalog) -> list[tuple[str, re.Pattern]]:
    """English wording of our templates that French pages must not show: msgids used in templates/ whose
    translation differs, that are long enough to be telling, and that are not French words as well (an
    English msgid found in some French translation, such as "Notes" or "Date", proves nothing)."""
    french = " | ".join(text for e in catalog for text in e["msgstr"].values())
    found = []
    for e in _messages(catalog):
        if not any(ref.startswith("templates/") for ref in e["refs"]):
            continue
        english = [e["msgid"]] + ([e["msgid_plural"]] if e["msgid_plural"] else [])
        for form, text in enumerate(english):
            if text == e["msgstr"].get(form, text):
                continue
            pattern = _pattern(text)
            if pattern is None or pattern.search(french):
                continue
            found.append((text, pattern))
    assert len(found) > 300  # the check means something only if most of the interface is in it
    return found


def _data_strings() -> list[str]:
    """Names and free text that come from the data, not the interface (country and organization names are
    reference data in English): removed from the page before looking for English wording."""
    from django.contrib.auth import get_user_model

    from assessments.models import Indicator, Objective, ScoringModel
    from core.audit import history_models
    from core.models import Unit
    from engagements.models import AfterActionReport, Engagement
    from organizations.models import Membership, Organization
    from partners.models import PartnerNation

    values: set[str] = set()
    for row in PartnerNation.objects.values_list("name", "official_name", "region", "subregion", "intermediate_region"):
        values.update(row)
    for row in Organization.objects.values_list("acronym", "name", "description"):
        values.update(row)
    values.update(Membership.objects.values_list("notes", flat=True))
    for row in Engagement.objects.values_list("title", "location_name", "description", "funding_source"):
        values.update(row)
    for row in AfterActionReport.objects.values_list("summary", "lessons_learned", "recommendations"):
        values.update(row)
    for row in ExerciseSeries.objects.values_list("name", "description"):
        values.update(row)
    values.update(Objective.objects.values_list("title", flat=True))
    values.update(Indicator.objects.values_list("name", flat=True))
    values.update(ScoringModel.objects.values_list("description", flat=True))  # written by administrators
    for row in Unit.objects.values_list("name", "code"):  # organisational units, named by administrators
        values.update(row)
    values.update(get_user_model().objects.values_list("username", flat=True))
    for history_model in history_models().values():  # reasons stored with changes ("Reference data loaded")
        values.update(history_model.objects.values_list("history_change_reason", flat=True).distinct())
    return sorted((v for v in values if v and len(v) > 1), key=len, reverse=True)


def english_left_on(html: str, english_strings, data: list[str]) -> list[str]:
    text = visible_text(html)
    for value in data:
        text = text.replace(value, " | ")
    return [english for english, pattern in english_strings if pattern.search(text)]


@pytest.fixture
def make_client():
    return Client


def french_client(client_factory, user=None):
    client = client_factory()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def french_data(reference_data, planner, analyst):
    """One of everything the main pages show: two overlapping engagements (a conflict warning), one of them
    completed with participants, frameworks, a series, a budget and an after-action report; an objective with
    a measured indicator."""
    from tests.assessments.factories import IndicatorFactory, MeasurementFactory, ObjectiveFactory

    series = services.series_create(name="Flintlock", description="Exercice annuel.", user=planner)
    values = {
        "engagement_type": "exercise",
        "domain": "land",
        "start_date": D(2025, 2, 10),
        "end_date": D(2025, 2, 28),
        "host_country": "CIV",
        "organizations": ["ECOWAS"],
        "threat_focus": ["terrorism"],
    }
    first = services.engagement_create(
        created_by=planner,
        title="Flintlock 2025",
        series=series.slug,
        location_name="Abidjan",
        latitude="5.36",
        longitude="-4.01",
        budget_usd="1500000",
        participants=[
            {"partner": "CIV", "role": "host", "personnel": 1200},
            {"partner": "SEN", "role": "participant", "personnel": 300},
        ],
        **values,
    ).engagement
    services.engagement_change_status(engagement=first, status="completed", user=planner)
    services.after_action_submit(
        engagement=first,
        user=planner,
        summary="Planification combinée réussie.",
        interoperability_rating=4,
        capacity_rating=3,
        trust_rating=5,
        lessons_learned="Commencer plus tôt.",
        recommendations="Ajouter une phase maritime.",
    )
    second = services.engagement_create(
        created_by=planner,
        title="Atelier de planification",
        participants=[{"partner": "SEN", "role": "lead", "personnel": 20}],
        **values,
    ).engagement
    objective = ObjectiveFactory(partner=first.host_country, title="Sécurité des ports")
    indicator = IndicatorFactory(objective=objective, name="Patrouilles conjointes")
    MeasurementFactory(indicator=indicator, date=D(2025, 1, 31), value=40.0)
    return {"first": first, "second": second, "series": series, "objective": objective, "indicator": indicator}


def _optional(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


BAD_CSV = (
    "title,engagement_type,domain,status,start_date,end_date,host_country,participants\n"
    "Exercice sans fin,exercise,land,planned,2025-05-10,2025-05-01,SEN,SEN:host:10\n"
)


def test_main_pages_show_no_english_interface_text(
    make_client, viewer, analyst, planner, admin_user_role, french_data, english_template_strings
):
    first, series = french_data["first"], french_data["series"]
    as_role = {
        "anonymous": None,
        "viewer": viewer,
        "analyst": analyst,
        "planner": planner,
        "admin": admin_user_role,
    }
    pages = [
        ("anonymous", "get", reverse("login"), {}),
        *[(role, "get", reverse("home"), {"home": "1"}) for role in ("viewer", "analyst", "planner", "admin")],
        ("viewer", "get", reverse("partners:list"), {}),
        ("viewer", "get", reverse("partners:detail", args=["SEN"]), {}),
        ("viewer", "get", reverse("organizations:list"), {}),
        ("viewer", "get", reverse("organizations:detail", args=["ECOWAS"]), {"on": "2024-03-06"}),
        ("planner", "get", reverse("engagements:list"), {}),
        ("planner", "get", reverse("engagements:list"), {"status": "completed", "start_after": "not-a-date"}),
        ("planner", "get", reverse("engagements:detail", args=[first.pk]), {}),
        ("planner", "get", reverse("engagements:create"), {}),
        ("planner", "post", reverse("engagements:create"), {"title": ""}),
        ("planner", "get", reverse("engagements:edit", args=[first.pk]), {}),
        ("planner", "get", reverse("engagements:after_action", args=[first.pk]), {}),
        ("planner", "get", reverse("engagements:delete", args=[first.pk]), {}),
        ("planner", "get", reverse("engagements:calendar"), {"month": "2025-02"}),
        ("planner", "get", reverse("engagements:series_list"), {}),
        ("planner", "get", reverse("engagements:series_detail", args=[series.slug]), {}),
        ("planner", "get", reverse("engagements:import"), {}),
        ("admin", "get", reverse("audit"), {}),
    ]
    assessment_pages = [
        ("assessments:overview", ()),
        ("assessments:partner", (first.host_country.iso3,)),
        ("assessments:organization", ("ECOWAS",)),
        ("assessments:region", (slugify(first.host_country.region),)),
        ("assessments:runs", ()),
        ("assessments:objectives", ()),
        ("assessments:objective", (french_data["objective"].pk,)),
        ("assessments:indicator", (french_data["indicator"].pk,)),
        ("assessments:objective-update", (french_data["objective"].pk,)),
        ("assessments:indicator-update", (french_data["indicator"].pk,)),
        ("assessments:methodology", ()),
    ]
    pages += [("analyst", "get", url, {}) for name, args in assessment_pages if (url := _optional(name, *args))]
    assert len(pages) >= 25

    data = _data_strings()
    clients = {role: french_client(make_client, user) for role, user in as_role.items()}
    problems = {}
    for role, method, url, params in pages:
        response = getattr(clients[role], method)(url, params)
        html = response.content.decode()
        label = f"{method.upper()} {url} {params or ''} as {role}"
        assert response.status_code in (200, 400), label
        assert '<html lang="fr">' in html, label
        left = english_left_on(html, english_template_strings, data)
        if left:
            problems[label] = left
    # The import page with a file that has a bad row: the report and its error in French.
    upload = french_client(make_client, planner)
    response = upload.post(
        reverse("engagements:import"), {"file": SimpleUploadedFile("lot.csv", BAD_CSV.encode(), "text/csv")}
    )
    html = response.content.decode()
    assert response.status_code == 400 and '<html lang="fr">' in html
    assert "Rien n'a été enregistré" in html_lib.unescape(html)
    if left := english_left_on(html, english_template_strings, data):
        problems["POST import (bad row)"] = left
    assert problems == {}


def test_pages_are_english_by_default(client, viewer, reference_data):
    client.force_login(viewer)
    html = client.get(reverse("organizations:detail", args=["ECOWAS"]), {"on": "2024-03-06"}).content.decode()
    assert '<html lang="en">' in html
    assert "members on 2024-03-06" in html


# --- switching language; dates and numbers --------------------------------------------------------------


def test_language_switcher_turns_the_interface_french_before_and_after_login(client, viewer, reference_data):
    response = client.post(reverse("set_language"), {"language": "fr", "next": reverse("login")})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    login_page = html_lib.unescape(client.get(reverse("login")).content.decode())
    assert '<html lang="fr">' in login_page and "Se connecter" in login_page and "Mot de passe" in login_page
    assert '<option value="fr" selected lang="fr">Français</option>' in login_page

    client.force_login(viewer)
    home = html_lib.unescape(client.get(reverse("home")).content.decode())
    assert "Bienvenue, viewer1" in home and "<strong>Lecteur</strong>" in home
    # And back to English.
    client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert "Welcome, viewer1" in client.get(reverse("home")).content.decode()


def test_a_french_user_sees_french_dates_and_numbers(make_client, planner, french_data):
    client = french_client(make_client, planner)
    organization = html_lib.unescape(
        client.get(reverse("organizations:detail", args=["ECOWAS"]), {"on": "2024-03-06"}).content.decode()
    )
    assert "Membres au 6 mars 2024" in organization
    assert re.search(r"\d+ membres au 6 mars 2024", organization)

    detail = html_lib.unescape(
        client.get(reverse("engagements:detail", args=[french_data["first"].pk])).content.decode()
    )
    assert "10 février 2025 – 28 février 2025" in detail
    assert f"1{NBSP}500{NBSP}000,00 USD" in detail  # budget: French grouping and decimal comma
    assert f"<strong>1{NBSP}500</strong>" in detail  # personnel in total
    assert "5,360 ; -4,010" in detail.replace(f"{NBSP};", " ;")  # coordinates: decimal comma, semicolon
    assert "Rapport après action" in detail and "Terminé" in detail

    calendar = html_lib.unescape(client.get(reverse("engagements:calendar"), {"month": "2025-02"}).content.decode())
    assert "février 2025" in calendar and '<span class="cal-weekday">lun</span>' in calendar
    listing = html_lib.unescape(client.get(reverse("engagements:list")).content.decode())
    assert "10/02/2025" in listing  # short dates in tables: day/month/year

    # The same pages in English keep ISO dates and English grouping.
    english = make_client()
    english.force_login(planner)
    detail_en = english.get(reverse("engagements:detail", args=[french_data["first"].pk])).content.decode()
    assert "2025-02-10 – 2025-02-28" in detail_en and "USD 1,500,000.00" in detail_en


def test_assessment_pages_follow_the_language(make_client, analyst, french_data):
    """Dates, percentages, participant roles and the explanation's total on the analyst pages: French for a
    French user, ISO dates and English wording otherwise; a date field keeps its ISO value in French."""
    objective, indicator = french_data["objective"], french_data["indicator"]
    objective.target_date = D(2026, 6, 30)
    objective.save(update_fields=["target_date"])
    partner_url = reverse("assessments:partner", args=[french_data["first"].host_country.iso3])

    client = french_client(make_client, analyst)
    page = html_lib.unescape(client.get(reverse("assessments:indicator", args=[indicator.pk])).content.decode())
    assert "<td>31/01/2025</td>" in page and "31 janvier 2025" in page  # table and prose
    assert f"40{NBSP}%" in page  # progress: 40 of 0 to 100
    page = html_lib.unescape(client.get(reverse("assessments:objective", args=[objective.pk])).content.decode())
    assert "30 juin 2026" in page
    form = client.get(reverse("assessments:objective-update", args=[objective.pk])).content.decode()
    assert 'value="2026-06-30"' in form  # the browser's date input needs ISO
    page = html_lib.unescape(client.get(partner_url, {"period": "2025-Q1"}).content.decode())
    assert re.search(rf"Global{NBSP}: \d+,\d\d", page)
    assert "<td>Hôte</td>" in page and "<td>host</td>" not in page
    assert "10/02/2025 – 28/02/2025" in page
    assert "31 mars 2025" in page  # the window ends on the quarter's last day
    methodology = html_lib.unescape(client.get(reverse("assessments:methodology")).content.decode())
    assert re.search(rf"\d+,\d{NBSP}%", methodology) and "Multilatéralisme" in methodology

    english = make_client()
    english.force_login(analyst)
    page = english.get(reverse("assessments:indicator", args=[indicator.pk])).content.decode()
    assert "<td>2025-01-31</td>" in page and "40%" in page
    page = html_lib.unescape(english.get(partner_url, {"period": "2025-Q1"}).content.decode())
    assert re.search(r"Overall: \d+\.\d\d", page) and "<td>Host</td>" in page
    assert "2025-02-10 – 2025-02-28" in page and "2025-03-31" in page
    form = english.get(reverse("assessments:objective-update", args=[objective.pk])).content.decode()
    assert 'value="2026-06-30"' in form
