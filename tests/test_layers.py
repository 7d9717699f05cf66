"""The architecture, checked: layers import only downwards, no import circle, the core never imports
Streamlit, no module over 400 lines, private internals of dependencies only inside their adapters.

Read statically (ast), so a function-level import counts as much as a module-level one.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import attn

PACKAGE = Path(attn.__file__).parent
REPO = PACKAGE.parent
MAX_LINES = 400

# What each layer may import from attn, besides itself. Data flows one way:
# config -> records -> data -> nn -> training -> runs -> viz -> app (pages) ; cli beside app.
ALLOWED = {
    "config": set(),
    "records": set(),
    "data": {"config", "records"},
    "nn": {"config", "records", "data"},
    "training": {"config", "records", "data", "nn"},
    "runs": {"config", "records", "data", "nn", "training"},
    "viz": {"config", "records", "data", "runs"},
    "app": {"config", "records", "data", "nn", "training", "runs", "viz"},
    "cli": {"config", "records", "data", "nn", "training", "runs", "viz"},
    "__init__": set(),
    "__main__": {"cli"},
}
STREAMLIT_PACKAGES = {"app"}  # the only attn package that may import streamlit
# Private names of dependencies, and the one module allowed to touch each.
PRIVATE = {
    "streamlit.runtime": "attn/app/compat.py",
    "streamlit.elements": "attn/app/compat.py",
    "streamlit.dataframe_util": "attn/app/compat.py",
    "_convert_altair_to_vega_lite_spec": "attn/app/compat.py",
    "multiprocessing.spawn": "attn/runs/mp_compat.py",
    "get_preparation_data": "attn/runs/mp_compat.py",
}


def modules() -> dict[str, Path]:
    """Dotted name -> file of every module in the attn package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(path: Path, name: str) -> set[str]:
    """The attn modules (dotted) that `path` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m == "attn" or m.startswith("attn.")}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1].removesuffix(".py") if len(parts) > 1 else "__init__"


def known(module: str, mods: dict[str, Path]) -> str | None:
    """`module` if it is a module of attn; `a.b.c` -> `a.b` when c is a name inside module a.b."""
    while module and module not in mods:
        module = module.rpartition(".")[0]
    return module or None


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {m for m in (known(i, mods) for i in imported(path, name)) if m and m != name}
            for name, path in mods.items()}


def test_every_module_is_in_a_known_layer():
    unknown = sorted({layer(m) for m in modules()} - set(ALLOWED))
    assert not unknown, f"attn packages without a place in ALLOWED (tests/test_layers.py): {unknown}"


def test_layers_import_only_downwards():
    wrong = [f"{m} imports {i}" for m, deps in graph().items() for i in deps
             if layer(i) != layer(m) and i != "attn" and layer(i) not in ALLOWED[layer(m)]]
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def test_no_import_circle():
    edges = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt == "attn" or nxt.startswith(node + "."):
                continue  # a package importing its own submodules is no circle
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not state.get(nxt) and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(edges):
        if not state.get(start) and (cycle := visit(start)):
            pytest.fail("import circle: " + " -> ".join(cycle))


def _sources():
    for folder in ("attn", "pages", "tests", "benchmarks", "scripts"):
        yield from sorted((REPO / folder).rglob("*.py"))
    yield REPO / "dashboard.py"


def test_the_core_never_imports_streamlit():
    offenders = []
    for name, path in modules().items():
        if layer(name) in STREAMLIT_PACKAGES:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(REPO)}:{node.lineno}" for n in names
                          if n == "streamlit" or n.startswith("streamlit.")]
    assert not offenders, f"streamlit imported outside attn.app: {offenders}"


def test_no_module_is_longer_than_400_lines():
    long = {str(p.relative_to(REPO)): n for p in _sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_private_internals_stay_inside_their_adapters():
    here = Path(__file__).resolve()
    offenders = []
    for path in _sources():
        if path.resolve() == here or path.parent.name == "tests" and path.name.startswith("test_compat"):
            continue
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text()
        offenders += [f"{rel} uses {needle}" for needle, home in PRIVATE.items()
                      if needle in text and rel != home and not rel.startswith("tests/")]
    assert not offenders, "private internals outside their adapter:\n" + "\n".join(offenders)
