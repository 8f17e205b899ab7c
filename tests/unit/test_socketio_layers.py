"""The shape of interfaces/socketio/: engineio/ below socketio/, no import circles
(imports under TYPE_CHECKING count too), and socketify's internals only in native.py."""

from __future__ import annotations

import ast
from pathlib import Path

import socketify

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "interfaces" / "socketio"
PUBLIC_SOCKETIFY = {name for name in dir(socketify) if not name.startswith("_")}
PRIVATE_MODULES = ("socketify.native", "socketify.asgi", "socketify.loop", "socketify.uv",
                   "socketify.socketify", "socketify.tasks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every import statement, at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, [alias.name for alias in node.names]))
    return found


def edges() -> dict[str, set[str]]:
    """Module -> modules of this package it imports (``from . import x`` names module x).
    A module's implicit import of its parent packages' __init__ is not an edge."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, names in imports_of(path):
            candidates = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if not candidates and target in MODULES:
                candidates = [target]
            graph[name].update(c for c in candidates if c != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_socketio_packages_have_no_import_circles() -> None:
    graph = edges()
    assert len(graph) > 15  # the walk found the package
    assert find_cycle(graph) is None, find_cycle(graph)


def test_engineio_knows_nothing_of_socketio_but_native() -> None:
    for name, targets in edges().items():
        if ".engineio" in name:
            above = {t for t in targets if ".engineio" not in t}
            assert above <= {"interfaces.socketio.native"}, (name, above)


def test_objects_of_the_package_do_not_reach_into_private_members_of_others() -> None:
    """No `socket._held`, `namespace._register` ... across objects: `x._name` is allowed
    only on `self`/`cls` (and on the package's own modules and socketify's public API)."""
    offenders = []
    for name, path in MODULES.items():
        if name.endswith(".native"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
        for target, names in imports_of(path):
            if target.startswith("interfaces.socketio"):
                offenders += [f"{path.relative_to(ROOT)}: imports {target}.{n}"
                              for n in names if n.startswith("_")]
    assert offenders == []


def test_only_native_py_imports_socketify_internals() -> None:
    offenders = []
    for path in [*(ROOT / "interfaces").rglob("*.py"), *(ROOT / "bench").glob("*.py"),
                 *(ROOT / "tests").rglob("*.py")]:
        if path == PACKAGE / "native.py" or "node_modules" in path.parts:
            continue
        for target, names in imports_of(path):
            if not target.startswith("socketify"):
                continue
            private = target.startswith(PRIVATE_MODULES) or (
                target == "socketify" and not set(names) <= PUBLIC_SOCKETIFY
            )
            if private:
                offenders.append(f"{path.relative_to(ROOT)}: {target} {names}")
    assert offenders == []
