"""Finding a stance target in a sentence, tolerant of German inflection.

Stance is about *something*: the words around its mention say more than the whole sentence
("… warf Russland Kriegsverbrechen vor"). News targets are short names ("Russland"), while policy
questions ("Soll der Bund …?") are not mentioned at all and are used as text of their own.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+(?:[-']\w+)*")
_MAX_MENTION_WORDS = 4  # longer targets are questions or descriptions, not names in the text


def is_question(target: str) -> bool:
    """A target that is asked about rather than named (x-stance style questions)."""
    return target.rstrip().endswith("?") or len(_WORD.findall(target)) > _MAX_MENTION_WORDS


@lru_cache(maxsize=4096)
def _mention_pattern(target: str) -> re.Pattern[str] | None:
    words = _WORD.findall(target)
    if not words or is_question(target):
        return None
    parts = []
    for word in words:
        # German inflection adds up to a few letters (Russland -> Russlands, Ukraine -> Ukrainer,
        # Regierung -> Regierungen); a stem without its last letter also covers -e/-en endings.
        stem = word[:-1] if len(word) >= 6 else word
        parts.append(re.escape(stem) + r"\w{0,4}")
    return re.compile(r"(?<!\w)" + r"\W{1,3}".join(parts) + r"(?!\w)", re.IGNORECASE)


def find_mention(text: str, target: str) -> tuple[int, int] | None:
    """Character span of the first mention of `target` in `text`, or None."""
    pattern = _mention_pattern(target.strip())
    if pattern is None:
        return None
    match = pattern.search(text)
    return (match.start(), match.end()) if match else None


def context_window(text: str, span: tuple[int, int], width: int) -> str:
    """The `width` words left and right of the mention, marked by side, without the target itself.

    Marking the side (``L_``/``R_``) keeps "Russland kritisiert X" apart from "X kritisiert Russland".
    """
    left = _WORD.findall(text[: span[0]])[-width:]
    right = _WORD.findall(text[span[1] :])[:width]
    return " ".join([f"L_{w}" for w in left] + [f"R_{w}" for w in right])
