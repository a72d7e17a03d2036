"""Scope of German negation: the words a negation governs get a ``NEG_`` prefix.

A bag of n-grams sees "verlässlicher Partner" in "Russland ist kein verlässlicher Partner" and
calls it positive. Marking the words in a negation's scope ("kein NEG_verlässlicher NEG_Partner")
gives them features of their own (Das & Chen 2001; Pang et al. 2002), and lets the polarity
lexicon count them with the opposite sign.

The scope runs from the negation to the next clause boundary (punctuation or a clause-opening
conjunction). German often puts "nicht" at the end of its clause ("… überzeugte die Jury nicht"):
when nothing follows before the boundary, the scope runs back to the clause's start instead.
Works on plain text and on the stance context ("L_ist R_kein R_Partner": side markers are kept
after the prefix's place, so "R_Partner" becomes "NEG_R_Partner").
"""

from __future__ import annotations

import re

PREFIX = "NEG_"
CUES = frozenset(
    {
        "nicht", "nichts", "nie", "niemals", "nirgends", "nirgendwo", "niemand", "niemanden", "niemandem",
        "kein", "keine", "keinen", "keinem", "keiner", "keines", "keinerlei", "keineswegs", "keinesfalls",
        "ohne", "weder", "kaum",
    }
)  # fmt: skip
# Polarity shifters of decrease: "Die Inflation ist gesunken" is good news, "Die Gewinne sind gesunken"
# bad news; their scope is their whole clause (the thing that decreases may stand before or after them).
SHIFTERS = frozenset(
    {
        "gesunken", "sinkt", "sinken", "sank", "gefallen", "fällt", "fiel", "zurückgegangen", "zurückgeht",
        "rückgang", "verringert", "verringern", "reduziert", "reduzieren", "gesenkt", "senkt", "senken", "senkung",
        "gedämpft", "nachgelassen", "schrumpft", "geschrumpft", "abgebaut", "abbau", "gebremst", "bremst",
        "gestoppt", "stoppt", "verhindert", "verhindern", "eingedämmt", "gelindert", "lindert", "halbiert",
        "weniger",
    }
)  # fmt: skip
# Words that open a new clause (or turn it): the scope of a negation ends before them.
BOUNDARY_WORDS = frozenset(
    {"aber", "sondern", "doch", "jedoch", "während", "weil", "dass", "obwohl", "denn", "wenn", "sowie", "trotzdem"}
)
# "nicht nur … sondern auch", "nicht zuletzt": no negation of what follows.
NOT_NEGATING = frozenset({("nicht", "nur"), ("nicht", "zuletzt"), ("nicht", "einmal")})
_BOUNDARY_CHARS = re.compile(r"[,;:.!?()\[\]\"„“”«»–—]|\s-\s")
_TOKEN = re.compile(r"\w+")
_SIDE = re.compile(r"^[LR]_")
# A loose pre-check (also matches e.g. "niedrig"): texts without any of these are returned unchanged.
_MAYBE = re.compile(r"(?i)(?:nicht|nie|nirgend|kein|ohne|weder|kaum)")
_MAYBE_SHIFT = re.compile(
    r"(?i)(?:sunken|sink|sank|fallen|fällt|fiel|zurück|rückgang|verringer|reduzier|senk|dämpf|nachgelassen|"
    r"schrumpf|abbau|abgebaut|brems|stopp|verhinder|eingedämmt|linder|halbiert|weniger)"
)


def _bare(token: str) -> str:
    return _SIDE.sub("", token).lower()


def negated_tokens(text: str, shifters: bool = False) -> list[tuple[int, bool]]:
    """Start offset of every ``\\w+`` token and whether it lies in a negation's (or a shifter's) scope."""
    matches = list(_TOKEN.finditer(text))
    words = [_bare(m.group()) for m in matches]
    # clause index of every token: a new clause starts after boundary punctuation or at a boundary word
    clause, clauses = 0, []
    for k, m in enumerate(matches):
        gap = text[matches[k - 1].end() : m.start()] if k else ""
        if (gap and _BOUNDARY_CHARS.search(gap)) or words[k] in BOUNDARY_WORDS:
            clause += 1
        clauses.append(clause)
    scoped = [False] * len(matches)
    cues = CUES | SHIFTERS if shifters else CUES
    for k, word in enumerate(words):
        if word not in cues:
            continue
        if k + 1 < len(words) and (word, words[k + 1]) in NOT_NEGATING:
            continue
        clause_words = [j for j in range(len(words)) if clauses[j] == clauses[k] and j != k]
        after = [j for j in clause_words if j > k]
        if (word in SHIFTERS and word not in CUES) or not after:
            # a shifter governs its whole clause; a clause-final negation what came before it
            after = clause_words if word in SHIFTERS else [j for j in clause_words if j < k]
        for j in after:
            if words[j] not in cues:
                scoped[j] = True
    return [(m.start(), s) for m, s in zip(matches, scoped, strict=True)]


def mark_negation(text: str, shifters: bool = False) -> str:
    """`text` with ``NEG_`` before every word in a negation's scope (unchanged when there is none);
    with `shifters` also in the clause of a decrease word ("Die NEG_Inflation NEG_ist gesunken")."""
    if not text or not (_MAYBE.search(text) or (shifters and _MAYBE_SHIFT.search(text))):
        return text
    starts = [start for start, scoped in negated_tokens(text, shifters) if scoped]
    if not starts:
        return text
    parts, last = [], 0
    for start in starts:
        parts += [text[last:start], PREFIX]
        last = start
    parts.append(text[last:])
    return "".join(parts)


def strip_mark(token: str) -> tuple[str, bool]:
    """A token without its ``NEG_`` prefix, and whether it had one."""
    return (token[len(PREFIX) :], True) if token.startswith(PREFIX) else (token, False)
