"""Haltung's behavioural test suite (CheckList style): hand-written cases plus template cases.

`load_suite()` is the whole suite; `training.check` runs it against a model.
"""

from __future__ import annotations

from pathlib import Path

from training.behaviour.cases import CAPABILITIES, Case, CaseError, check_unique_ids, parse_case, read_cases
from training.behaviour.templates import generated_rows

HANDWRITTEN = Path(__file__).resolve().parent / "handwritten.jsonl"

__all__ = ["CAPABILITIES", "HANDWRITTEN", "Case", "CaseError", "load_suite"]


def load_suite() -> list[Case]:
    """Every case, hand-written first; ids are unique and stable."""
    cases = read_cases(HANDWRITTEN)
    for row in generated_rows():
        try:
            cases.append(parse_case(row))
        except ValueError as err:
            raise CaseError(f"template case {row.get('id')}: {err}") from err
    check_unique_ids(cases)
    return cases
