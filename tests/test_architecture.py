"""The house rules the code keeps by itself: one way into the outbox, and packages in layers.

    db ← bot ← knowledge ← adapters ← zaitaku_desk ← admin_api ← server

(an arrow points at what a package may import; the core, bot, knows no channel and no database).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("db", "bot", "knowledge", "adapters", "zaitaku_desk", "admin_api", "server")
OUTBOX_MODULE = REPO / "zaitaku_desk" / "outbox.py"


def _modules() -> list[tuple[str, Path, ast.Module]]:
    return [(package, path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
            for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))]


def _imports(tree: ast.Module) -> list[str]:
    """Every module imported anywhere in the file, lazy imports included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_packages_import_only_the_layers_below_them() -> None:
    upward = []
    for package, path, tree in _modules():
        for module in _imports(tree):
            top = module.split(".")[0]
            if top in PACKAGES and PACKAGES.index(top) > PACKAGES.index(package):
                upward.append(f"{path.relative_to(REPO)} imports {module}")
    assert upward == []


def test_no_module_cycles_inside_a_package() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    names = {str(path.relative_to(REPO).with_suffix("")).replace("/", ".").removesuffix(".__init__")
             for _, path, _ in _modules()}
    for _, path, tree in _modules():
        name = str(path.relative_to(REPO).with_suffix("")).replace("/", ".").removesuffix(".__init__")
        for module in _imports(tree):
            while module and module not in names:
                module = module.rpartition(".")[0]
            if module and module != name and not name.startswith(module + "."):
                graph[name].add(module)
    cycles = []

    def visit(node: str, path: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycles.append(" → ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, [*path, nxt], done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start], done)
    assert cycles == []


def test_only_the_outbox_module_writes_outbox_rows() -> None:
    """No OutboxMessage(...) and no insert / update / delete of the outbox table anywhere else."""
    writers = []
    for _, path, tree in _modules():
        if path == OUTBOX_MODULE or "migrations" in path.parts:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if func == "OutboxMessage" or (func in ("insert", "update", "delete") and node.args
                                           and "OutboxMessage" in ast.unparse(node.args[0])):
                writers.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)[:60]}")
    assert writers == []
