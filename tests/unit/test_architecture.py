"""The house rules of docs/ARCHITECTURE.md that a machine can check: what may import what."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUEST_NAMES = {"request", "session", "g", "abort", "url_for", "flash", "redirect"}


def _modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path, *, top_level_only: bool = False):
    """(module, imported names) for every import of the file (or of its module body only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set()


SERVICES = _modules("services")
MODELS = _modules("models")
BLUEPRINTS = _modules("blueprints")


@pytest.mark.parametrize("path", SERVICES, ids=_name)
def test_services_know_no_request(path):
    for module, names in _imports(path):
        if module == "flask":
            assert not names & REQUEST_NAMES, f"{_name(path)} imports {sorted(names & REQUEST_NAMES)} from flask"
        assert module.split(".")[0] not in {"blueprints", "app", "bench"}, f"{_name(path)} imports {module}"
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"\bflask\.(request|session|g|abort|url_for|flash|redirect)\b", source), _name(path)


@pytest.mark.parametrize("path", MODELS, ids=_name)
def test_models_import_nothing_above_them(path):
    for module, _ in _imports(path):
        assert module.split(".")[0] not in {"services", "blueprints", "app", "cli", "bench"}, (
            f"{_name(path)} imports {module}"
        )


@pytest.mark.parametrize("path", BLUEPRINTS, ids=_name)
def test_blueprints_build_no_sql(path):
    """Every select() lives in services/: a blueprint parses, calls one service, renders."""
    code = "\n".join(line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())
    assert not re.search(r"\bselect\(", code), f"{_name(path)} builds a select(): move it to services/"
    for module, names in _imports(path):
        assert not (module == "sqlalchemy" and "select" in names), f"{_name(path)} imports sqlalchemy.select"
        assert module.split(".")[0] not in {"app", "bench"}, f"{_name(path)} imports {module}"


def test_no_import_cycle_between_services():
    """Module-level imports between services form no cycle (a function-level import is how a
    provider registry is reached lazily, and is allowed)."""
    names = {_name(p): p for p in SERVICES}
    graph = {
        name: {
            module
            for module, imported_names in _imports(path, top_level_only=True)
            if module in names
            and module != name
            # `from package import submodule` depends on the submodule, not on the package's
            # re-exports (services/billing/__init__.py re-exports its modules' public names).
            and not all(f"{module}.{imported}" in names for imported in imported_names)
        }
        | {
            f"{module}.{imported}"
            for module, imported_names in _imports(path, top_level_only=True)
            for imported in imported_names
            if f"{module}.{imported}" in names
        }
        for name, path in names.items()
    }
    for name in graph:  # drop packages' own __init__ edges (a package imports nothing here)
        graph[name].discard(name)

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return [*trail, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
        return None

    cycles = [cycle for cycle in (cycle_from(name) for name in sorted(graph)) if cycle]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_rules_see_the_code():
    """The walks above find what they check (a moved folder would make them pass vacuously)."""
    assert len(SERVICES) > 30 and len(MODELS) > 5 and len(BLUEPRINTS) > 20
    assert (ROOT / "services" / "scope.py").exists()
