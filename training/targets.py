"""Stance targets and where a sentence mentions them: the name inflected, an alias, or a derived form.

Stance is about *something*: the words around its mention say more than the whole sentence
("… warf Russland Kriegsverbrechen vor"). News targets are short names ("Russland"), possibly with
aliases ("Moskau", "Kreml"); policy questions ("Soll der Bund …?") are not mentioned at all and are
used as text of their own. Adjectives and demonyms ("russische", "die Russen") come from
`training.demonyms`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from training.demonyms import is_derived, stem

_WORD = re.compile(r"\w+(?:[-']\w+)*")
_PIECE = re.compile(r"\w+")  # a word piece: hyphenated compounds ("US-Regierung") are split
_MAX_MENTION_WORDS = 4  # longer targets are questions or descriptions, not names in the text
_SHORT = 3  # names this short ("EU", "UN") take no inflection slack: "EU" must not match "Euro" or "euch"
# Endings that turn a name into a demonym or adjective rather than inflect it (Ukrain-er, ukrain-isch).
_DERIVED_ENDINGS = frozenset({"er", "ern", "erin", "erinnen", "isch", "ische", "ischen", "ischer", "isches", "ischem"})

_UMLAUTS = str.maketrans("äöü", "aou")

Via = Literal["name", "alias", "derived"]


def is_question(target: str) -> bool:
    """A target that is asked about rather than named (x-stance style questions)."""
    return target.rstrip().endswith("?") or len(_WORD.findall(target)) > _MAX_MENTION_WORDS


@dataclass(frozen=True, slots=True)
class Target:
    """What a stance is taken toward: a name with optional aliases, or a question."""

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def is_question(self) -> bool:
        return is_question(self.name)


@dataclass(frozen=True, slots=True)
class Mention:
    """Where a sentence names a target: ``text == sentence[start:end]``, and how it was found."""

    start: int
    end: int
    text: str
    via: Via


# German inflection of a name: case endings and plurals (Russland-s, Regierung-en, Partei-en, Minister-n), and
# the -er/-isch forms that `_looks_derived` then calls derived (Ukrain-er). A closed list, not "any few
# letters": "Niger" must not match "Nigeria".
_NOUN_ENDINGS = r"(?:e|en|er|ern|es|em|n|ns|ens|s|in|innen|nen)"
# Adjectives in multi-word names decline: "Rotes Kreuz" is "das Rote Kreuz", "Europäische Zentralbank" is
# "der Europäischen Zentralbank".
_ADJECTIVE = re.compile(r"^(\w{3,}?)(?:es|er|en|em|e)$")
_ADJECTIVE_ENDINGS = r"(?:e|en|er|es|em)?"


@lru_cache(maxsize=4096)
def _mention_pattern(target: str) -> re.Pattern[str] | None:
    words = _WORD.findall(target)
    if not words or is_question(target):
        return None
    parts = []
    for position, word in enumerate(words):
        if len(word) <= _SHORT or (word.isupper() and len(word) <= 5):
            parts.append(re.escape(word) + "s?")  # acronyms and short names: only a genitive -s
        elif position < len(words) - 1 and word[0].isupper() and (adjective := _ADJECTIVE.match(word)):
            parts.append(re.escape(adjective.group(1)) + _ADJECTIVE_ENDINGS)
        elif word.endswith("e"):  # Ukraine, Grüne: the -e itself inflects (Ukrainer, Grünen)
            parts.append(re.escape(word[:-1]) + _NOUN_ENDINGS)
        else:
            parts.append(re.escape(word) + _NOUN_ENDINGS + "?")
    return re.compile(r"(?<!\w)" + r"\W{1,3}".join(parts) + r"(?!\w)", re.IGNORECASE)


def _by_pattern(text: str, name: str, via: Via) -> Mention | None:
    pattern = _mention_pattern(name.strip())
    match = pattern.search(text) if pattern else None
    if match is None:
        return None
    if via == "name" and _looks_derived(match.group(), name.strip()):
        via = "derived"
    return Mention(match.start(), match.end(), match.group(), via)


def _looks_derived(found: str, name: str) -> bool:
    """Whether a word that fits the name's inflection pattern is a derived word ("Ukrainer", "ukrainisch",
    "Nordkoreaner"): another Snowball stem that is a known derived form, or a demonym/adjective ending."""
    if " " in name.strip():
        return False
    if stem(found) != stem(name) and is_derived(found, name):
        return True
    root, found = _fold(name).removesuffix("e"), _fold(found)
    return found.startswith(root) and found[len(root) :] in _DERIVED_ENDINGS


def _fold(word: str) -> str:
    return word.lower().translate(_UMLAUTS)


def _by_derivation(text: str, name: str) -> Mention | None:
    for piece in _PIECE.finditer(text):
        if is_derived(piece.group(), name.strip()):
            return Mention(piece.start(), piece.end(), piece.group(), "derived")
    return None


def locate(text: str, target: Target) -> Mention | None:
    """The first mention of `target` in `text` (name, alias or derived form), or None; questions are never
    mentioned. At one position the name wins over an alias, an alias over a derived form."""
    if target.is_question:
        return None
    found = [
        (m.start, rank, m)
        for rank, m in enumerate(
            [
                _by_pattern(text, target.name, "name"),
                *(_by_pattern(text, alias, "alias") for alias in target.aliases),
                _by_derivation(text, target.name),
                *(_by_derivation(text, alias) for alias in target.aliases),
            ]
        )
        if m is not None
    ]
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def find_mention(text: str, target: str) -> tuple[int, int] | None:
    """Character span of the first mention of `target` in `text`, or None (`locate` without aliases)."""
    mention = locate(text, Target(target.strip()))
    return (mention.start, mention.end) if mention else None


def context_window(text: str, span: tuple[int, int], width: int) -> str:
    """The `width` words left and right of the mention, marked by side, without the target itself.

    Marking the side (``L_``/``R_``) keeps "Russland kritisiert X" apart from "X kritisiert Russland".
    """
    left = _WORD.findall(text[: span[0]])[-width:]
    right = _WORD.findall(text[span[1] :])[:width]
    return " ".join([f"L_{w}" for w in left] + [f"R_{w}" for w in right])
