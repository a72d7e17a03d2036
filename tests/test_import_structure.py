"""The seams between the packages, read from the source: one front door, no circles, no way back up."""

from __future__ import annotations

import ast
from pathlib import Path

import training

ROOT = Path(__file__).resolve().parents[1]


def imports(package: str) -> dict[str, set[str]]:
    """For every module of `package`, the project modules it imports (at any depth of its code)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found |= {n for n in names if n.split(".")[0] in ("training", "service")}
        graph[module] = found
    return graph


def test_the_service_uses_only_the_front_door_of_training() -> None:
    back_doors = {
        (module, name)
        for module, names in imports("service").items()
        for name in names
        if name.startswith("training") and name != "training"
    }
    assert back_doors == set()


def test_training_never_imports_the_service() -> None:
    assert {m for m, names in imports("training").items() if any(n.startswith("service") for n in names)} == set()


def test_no_import_circle_inside_training() -> None:
    graph = {m: {n for n in names if n in imports_of_training} for m, names in imports_of_training.items()}
    graph.pop("training")  # the front door imports everything, and nothing imports it
    assert not [m for m, names in imports_of_training.items() if m != "training" and "training" in names]

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    assert [m for m in graph if reaches(m, m, set())] == []


def test_the_front_door_exports_what_it_lists() -> None:
    assert sorted(training.__all__) == sorted(set(training.__all__))
    assert all(hasattr(training, name) for name in training.__all__)


imports_of_training = imports("training")
