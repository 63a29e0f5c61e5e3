"""Country names compared the way people type them: without accents, case or typographic apostrophes.

One function, so the stored search keys (``PartnerNation.search_key``, ``PartnerAlias.key``) and the
searched text are always normalised alike, on PostgreSQL and SQLite (no database extension needed).
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_SPACES = re.compile(r"\s+")
KEY_SEPARATOR = "|"  # between the names held in one search key, so a search never matches across two


def search_key(text: str) -> str:
    """ "Côte d’Ivoire" -> "cote d'ivoire": accents dropped, case folded, spaces and apostrophes unified."""
    decomposed = unicodedata.normalize("NFKD", str(text or "").translate(_APOSTROPHES))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", plain.replace(KEY_SEPARATOR, " ")).strip().casefold()


def names_key(names) -> str:
    """One search key holding several names, each between separators: ``|france|french republic|``."""
    keys = []
    for name in names:
        key = search_key(name)
        if key and key not in keys:
            keys.append(key)
    return KEY_SEPARATOR + KEY_SEPARATOR.join(keys) + KEY_SEPARATOR if keys else ""
