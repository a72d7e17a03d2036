"""German derived forms of place names: adjectives and demonyms ("russische", "die Russen", "US-Regierung").

The Snowball German stemmer (``snowballstemmer``) does most of the work: it maps "Ukrainer",
"ukrainischen" and "Ukraine" to one stem, "Europäer"/"europäische" to "Europa", "Iraner"/"iranisch"
to "Iran". What no stemmer can derive is listed in `DERIVED` below: forms built on another root
(USA → amerikanisch), a dropped or changed ending (Russland → russisch, Russe) or a different word
(Großbritannien → britisch). Each list holds base forms; their inflections are found through the stemmer.

Rules written here, and why:
- Stems shorter than `MIN_STEM` letters are not matched: "Polen" stems to "pol", which the pole ("Pol",
  "Pole") shares; the name itself is still found by the inflection pattern in `training.targets`.
- Forms in `DERIVED` written in capitals ("US", "UK") are matched exactly and case-sensitively, as whole
  word pieces ("US-Regierung" → "US"): stemming or lower-casing would make "us" in an English quote a mention.
- A word that only shares the name's own stem counts if it is capitalised (a demonym: "Ukrainer",
  "Europäer") or an -isch adjective ("ukrainischen"): the stemmer also maps verbs to their noun's stem
  ("wirtschaften" → "Wirtschaft"), and those are not mentions. Forms listed in `DERIVED` count in any case.
- Words are whole word pieces, so "Weißrussland"/"weißrussische" (Belarus) never match Russland, and
  "lateinamerikanisch" never matches USA; a hyphen splits pieces ("russisch-ukrainische" has both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

MIN_STEM = 4

# name (lower case) -> base forms of its adjective and demonym that the stemmer cannot derive from the name.
DERIVED: dict[str, tuple[str, ...]] = {
    "russland": ("russisch", "Russe", "Russin"),
    "usa": ("US", "amerikanisch", "Amerikaner", "Amerikanerin"),
    "vereinigte staaten": ("US", "amerikanisch", "Amerikaner", "Amerikanerin"),
    "nordkorea": ("nordkoreanisch", "Nordkoreaner", "Nordkoreanerin"),
    "südkorea": ("südkoreanisch", "Südkoreaner", "Südkoreanerin"),
    "deutschland": ("deutsch", "Deutsche"),
    "china": ("chinesisch", "Chinese", "Chinesin"),
    "frankreich": ("französisch", "Franzose", "Französin"),
    "polen": ("polnisch", "Polin"),
    "türkei": ("türkisch", "Türke", "Türkin"),
    "israel": ("israelisch", "Israeli", "Israelis"),
    "großbritannien": ("UK", "britisch", "Brite", "Britin"),
    "niederlande": ("niederländisch", "Niederländer", "Niederländerin"),
    "schweiz": ("schweizerisch", "Schweizer", "Schweizerin"),
    "österreich": ("österreichisch", "Österreicher", "Österreicherin"),
    "spanien": ("spanisch", "Spanier", "Spanierin"),
    "italien": ("italienisch", "Italiener", "Italienerin"),
    "griechenland": ("griechisch", "Grieche", "Griechin"),
    "belarus": ("belarussisch", "Belarusse", "weißrussisch"),
    "weißrussland": ("belarussisch", "Belarusse", "weißrussisch"),
    "syrien": ("syrisch", "Syrer", "Syrerin"),
    "japan": ("japanisch", "Japaner", "Japanerin"),
    "indien": ("indisch", "Inder", "Inderin"),
    "ungarn": ("ungarisch", "Ungar", "Ungarin"),
    "tschechien": ("tschechisch", "Tscheche", "Tschechin"),
    "dänemark": ("dänisch", "Däne", "Dänin"),
    "schweden": ("schwedisch", "Schwede", "Schwedin"),
    "finnland": ("finnisch", "Finne", "Finnin"),
    "norwegen": ("norwegisch", "Norweger", "Norwegerin"),
    "belgien": ("belgisch", "Belgier", "Belgierin"),
    "afghanistan": ("afghanisch", "Afghane", "Afghanin"),
    "irak": ("irakisch", "Iraker", "Irakerin"),
    "saudi-arabien": ("saudisch", "Saudi"),
    "europäische union": ("EU",),
}

_STEMMER = snowballstemmer.stemmer("german")
_ADJECTIVE = re.compile(r"isch(?:e[mnrs]?)?$")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball German stem of one word (lower-cased; the stemmer folds umlauts)."""
    return str(_STEMMER.stemWord(word.lower()))


@dataclass(frozen=True, slots=True)
class DerivedForms:
    listed: frozenset[str]  # stems of the forms in DERIVED
    exact: frozenset[str]  # capitalised forms in DERIVED, matched as written ("US")
    own: str | None  # the name's own stem, for demonyms and -isch adjectives the stemmer relates to it


@lru_cache(maxsize=4096)
def derived_forms(name: str) -> DerivedForms:
    """What marks a derived mention of `name`. Names of several words get only their listed forms: they are
    institutions or descriptions rather than places."""
    key = " ".join(name.lower().split())
    base = DERIVED.get(key, ())
    listed = frozenset(s for f in base if not f.isupper() and len(s := stem(f)) >= MIN_STEM)
    own = stem(key) if " " not in key and not name.isupper() else None
    return DerivedForms(
        listed, frozenset(f for f in base if f.isupper()), own if own and len(own) >= MIN_STEM else None
    )


def is_derived(word: str, name: str) -> bool:
    """Whether the word piece `word` is an adjective or demonym of `name` (or the name inflected)."""
    forms = derived_forms(name)
    if word in forms.exact:
        return True
    if not forms.listed and forms.own is None:
        return False
    stemmed = stem(word)
    if stemmed in forms.listed:
        return True
    return stemmed == forms.own and (word[:1].isupper() or _ADJECTIVE.search(word.lower()) is not None)
