"""The emulator is Slack's side: it never imports Firebreak's app, and app imports it only
inside the functions that run the demo, so an installation without it still runs."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.conftest import ROOT


def _imported(nodes: list[ast.stmt] | list[ast.AST]) -> Iterator[tuple[str, int]]:
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module, node.lineno


def _module_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements run on import: `if TYPE_CHECKING:` blocks are for the type checker."""
    return [
        node
        for node in tree.body
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    ]


def _offenders(package: str, nodes_of: str, banned: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        nodes = list(ast.walk(tree)) if nodes_of == "all" else _module_level(tree)
        for module, line in _imported(nodes):
            if module.split(".")[0] == banned:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


def test_the_emulator_imports_nothing_from_app() -> None:
    assert _offenders("emulator", "all", "app") == []


def test_app_imports_the_emulator_only_when_the_demo_runs() -> None:
    assert _offenders("app", "module", "emulator") == []
    anywhere = _offenders("app", "all", "emulator")
    assert anywhere and all(line.startswith("app/demo.py:") for line in anywhere), anywhere
