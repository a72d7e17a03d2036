"""The client is a package of its own: httpx and the standard library only (pandas only inside
`to_dataframe`), never the server's code, so it installs and runs without the model stack."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "haltung_client"


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
    return names


def test_the_client_needs_only_httpx_and_the_standard_library() -> None:
    found = set().union(*(imported(ast.parse(p.read_text(encoding="utf-8"))) for p in PACKAGE.rglob("*.py")))
    third_party = found - set(sys.stdlib_module_names) - {"haltung_client"}
    assert third_party == {"httpx", "pandas"}


def test_pandas_is_imported_only_inside_to_dataframe() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = imported(ast.Module(body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)],
                                        type_ignores=[]))  # fmt: skip
        assert "pandas" not in top_level, path
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and "pandas" in imported(node):
                assert node.name == "to_dataframe", path
