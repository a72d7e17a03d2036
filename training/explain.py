"""Which words of a sentence a feature came from, so that an explanation reads as words, not feature ids.

A word n-gram came from its words, a char n-gram from the words that contain it, a context n-gram
from the words around the target (without the ``L_``/``R_`` side and ``NEG_`` scope marks), and a
lexicon feature (a weighted count) from the lexicon words or negations that fired in the sentence.
Words are given as they are written in the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from training.lexicon import FEATURES, SPLIT_FEATURES, polarity_lexicon, token_info
from training.negation import PREFIX

_WORD = re.compile(r"\w+")
_MARKS = re.compile(rf"^(?:{PREFIX}|{PREFIX.lower()})?(?:[LRlr]_)?")
_EDGE_PUNCT = "\"'„“”‚‘’«»()[]{}.,;:!?…"


def _unmark(token: str) -> str:
    return _MARKS.sub("", token)


def _as_written(words: Sequence[str], text: str) -> tuple[str, ...]:
    """Each (lower-cased) word as the sentence spells it; kept as is when the sentence does not have it."""
    spelled: dict[str, str] = {}
    for w in _WORD.findall(text):
        spelled.setdefault(_unmark(w).lower(), _unmark(w))
    return tuple(dict.fromkeys(spelled.get(w.lower(), w) for w in words))


def ngram_words(ngram: str, text: str) -> tuple[str, ...]:
    """The words of a word n-gram (word, context and target views)."""
    return _as_written([_unmark(t) for t in ngram.split()], text)


def char_words(gram: str, text: str) -> tuple[str, ...]:
    """The words of `text` that contain the char_wb n-gram (its spaces pad the word, as sklearn pads them)."""
    found = [w for w in text.split() if gram in f" {w.lower()} "]
    return tuple(dict.fromkeys(w.strip(_EDGE_PUNCT) or w for w in found))


def lexicon_words(feature: str, text: str, transformer: Any) -> tuple[str, ...]:
    """The lexicon words (or negations) of `text` that the lexicon feature counted."""
    mode = getattr(transformer, "negated", None)
    lexicon = polarity_lexicon()
    name = feature.removeprefix("lexicon_")
    out = []
    for token in _WORD.findall(text):
        weight, cue, negated = token_info(token, lexicon, mode)
        split_negated = negated and mode == "split"
        fired = {
            "positive": weight > 0 and not split_negated,
            "negative": weight < 0 and not split_negated,
            "negation": cue,
            "negated_positive": split_negated and weight > 0,
            "negated_negative": split_negated and weight < 0,
        }
        fired["n_positive"], fired["n_negative"] = fired["positive"], fired["negative"]
        if fired.get(name):
            out.append(_unmark(token))
    return tuple(dict.fromkeys(out))


LEXICON_FEATURES = frozenset(f"lexicon_{f}" for f in (*FEATURES, *SPLIT_FEATURES))


def feature_words(view: str, feature: str, text: str, transformer: Any) -> tuple[str, ...]:
    """The words a feature of `view` came from, `text` being that view's input."""
    if view == "char":
        return char_words(feature, text)
    if view == "question":
        return (text,)  # the question target itself
    if view.startswith("lexicon_") and feature in LEXICON_FEATURES:
        return lexicon_words(feature, text, transformer)
    return ngram_words(feature, text)
