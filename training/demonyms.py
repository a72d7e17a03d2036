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
- Words are whole word pieces, so "Weißrussland"/"weißrussische" (Belarus) never match Russland, and
  "lateinamerikanisch" never matches USA; a hyphen splits pieces ("russisch-ukrainische" has both).
"""

from __future__ import annotations

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


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball German stem of one word (lower-cased; the stemmer folds umlauts)."""
    return _STEMMER.stemWord(word.lower())


@lru_cache(maxsize=4096)
def derived_forms(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """(stems, exact words) that mark a derived mention of `name`; both empty for names of several words
    not in `DERIVED`, which are institutions or descriptions rather than places."""
    key = " ".join(name.lower().split())
    base = DERIVED.get(key, ())
    exact = frozenset(f for f in base if f.isupper())
    stems = {stem(f) for f in base if not f.isupper()}
    if " " not in key and not name.isupper():
        stems.add(stem(key))  # Ukrainer, ukrainischen -> "ukrain" = stem("Ukraine")
    return frozenset(s for s in stems if len(s) >= MIN_STEM), exact


def is_derived(word: str, name: str) -> bool:
    """Whether the word piece `word` is an adjective or demonym of `name` (or the name inflected)."""
    stems, exact = derived_forms(name)
    return word in exact or (bool(stems) and stem(word) in stems)
