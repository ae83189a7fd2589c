"""Structure of the package: no import cycles, and no module reaches a private name of another.

The cycle check follows module-level and function-level imports (``from pkg import Name`` resolves to the
submodule defining Name), like ``shared/tools/import_cycles.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "snapsim"


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = (p, ast.parse(p.read_text(encoding="utf-8")))
    return out


MODS = _modules()
DEFINES = {
    m: {n.name for n in t.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    | {tg.id for n in t.body if isinstance(n, (ast.Assign, ast.AnnAssign))
       for tg in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(tg, ast.Name)}
    for m, (_p, t) in MODS.items()
}


def _base(module: str, node: ast.ImportFrom) -> str:
    is_pkg = MODS[module][0].name == "__init__.py"
    here = module.split(".") if is_pkg else module.split(".")[:-1]
    if not node.level:
        return node.module or ""
    base = here[: len(here) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(pkg: str, name: str) -> str | None:
    if f"{pkg}.{name}" in MODS:
        return f"{pkg}.{name}"
    if name in DEFINES.get(pkg, ()):
        return pkg
    for m in MODS:
        if m.startswith(pkg + ".") and name in DEFINES[m]:
            return m
    return pkg if pkg in MODS else None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODS}
    for m, (_p, tree) in MODS.items():
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                graph[m] |= {a.name for a in n.names if a.name in MODS}
            elif isinstance(n, ast.ImportFrom):
                base = _base(m, n)
                graph[m] |= {o for a in n.names if (o := _owner(base, a.name))}
        graph[m].discard(m)
    init = {m for m, (p, _t) in MODS.items() if p.name == "__init__.py"}
    return {m: {d for d in deps if not (d in init and m.startswith(d + ".")) and not (m in init and d.startswith(m + "."))}
            for m, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_no_module_imports_or_reaches_a_private_name_of_another():
    bad = []
    for m, (path, tree) in MODS.items():
        aliases: dict[str, str] = {}  # local name -> snapsim module it stands for
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom):
                base = _base(m, n)
                if not (base == "snapsim" or base.startswith("snapsim.")):
                    continue
                for a in n.names:
                    owner = _owner(base, a.name)
                    if a.name.startswith("_") and not a.name.startswith("__") and owner != m:
                        bad.append(f"{path.name}:{n.lineno}: imports {base}.{a.name}")
                    if f"{base}.{a.name}" in MODS:
                        aliases[a.asname or a.name] = f"{base}.{a.name}"
            elif isinstance(n, ast.Import):
                for a in n.names:
                    if a.name in MODS:
                        aliases[a.asname or a.name.split(".")[0]] = a.name
        for n in ast.walk(tree):
            if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in aliases
                    and n.attr.startswith("_") and not n.attr.startswith("__")):
                bad.append(f"{path.name}:{n.lineno}: reaches {aliases[n.value.id]}.{n.attr}")
    assert bad == []
