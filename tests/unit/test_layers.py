"""The layers import only downward: a module that reaches up fails here.

    app.slack.inbound  ->  app.slack.outbound  ->  app.incidents  ->  app.store

Use cases (`app.incidents`) reach Slack only through their port (`app/incidents/ports.py`),
so neither they nor anything they import may import the Slack layer or a Slack library.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
SLACK_LIBRARIES = ("slack_bolt", "slack_sdk")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in APP.rglob("*.py")
        if "migrations" not in path.relative_to(APP).parts
    }


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    package = base if _modules()[module].name == "__init__.py" else base[:-1]
    anchor = package[: len(package) - node.level + 1]
    return ".".join([*anchor, *([node.module] if node.module else [])])


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module `module` imports at module level or inside a function."""
    tree = ast.parse(_modules()[module].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            found.add(source)
            found.update(
                f"{source}.{alias.name}"
                for alias in node.names
                if f"{source}.{alias.name}" in _modules()
            )
    return frozenset(found)


def reachable_from(module: str) -> dict[str, str]:
    """Every module `module` reaches through imports, each with the one that imported it."""
    seen: dict[str, str] = {}
    stack = [module]
    while stack:
        current = stack.pop()
        for imported in imports_of(current):
            if imported not in seen:
                seen[imported] = current
                if imported in _modules():
                    stack.append(imported)
    return seen


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module} reaches {target} (imported by {via})"
        for module in sorted(_modules())
        if any(_in(module, package) for package in packages)
        for target, via in reachable_from(module).items()
        if any(_in(target, banned) for banned in forbidden)
    ]


def test_the_walker_sees_imports() -> None:
    # Without this the rules below would pass on a walker that finds nothing.
    assert "app.incidents.effects" in imports_of("app.slack.outbound.notifier")
    assert "app.slack.outbound.gateway" in reachable_from("app.slack.inbound.bolt_app")
    assert _violations(("app.slack.outbound.notifier",), ("app.incidents",))


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("app.incidents", ("app.slack", "emulator", *SLACK_LIBRARIES)),
        ("app.store", ("app.incidents", "app.slack", *SLACK_LIBRARIES)),
        ("app.slack.outbound", ("app.slack.inbound",)),
    ],
)
def test_layers_import_only_downward(layer: str, forbidden: tuple[str, ...]) -> None:
    assert _violations((layer,), forbidden) == []
