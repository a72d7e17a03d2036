"""The reference article, shown as the example request in the OpenAPI docs."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "kim_putin_waffendeal.txt"
_FALLBACK = (
    "Einblick in Kims und Putins „Waffendeal“ und was er nach dem seltenen Gipfel bedeuten könnte\n"
    "Russland muss seine Vorräte auffüllen, um weiterhin über die nötige Feuerkraft zu verfügen."
)


@lru_cache(maxsize=1)
def reference_article() -> str:
    """The repository's example article; a short excerpt where only the package is installed."""
    try:
        return _REFERENCE.read_text(encoding="utf-8")
    except OSError:
        return _FALLBACK
