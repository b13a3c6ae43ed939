"""The tree is the architecture: imports point down the layers of DESIGN.md, and nowhere round.

Every module's imports are read from its syntax tree — including imports inside functions and
under ``if TYPE_CHECKING`` — so a cycle cannot hide in a function body.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "retroprop"

# What each package may import, besides itself and the leaf ``retroprop.errors``.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "data": set(),
    "_fast": {"core"},
    "train": {"core", "_fast"},
    "glassbox": {"core", "train"},
    "files": {"core", "data", "train"},
    "views": {"core", "data", "train", "glassbox", "files"},
    "estimators": {"core", "train", "_fast", "glassbox"},
    "apps": {"core", "data", "train", "_fast", "glassbox", "files", "views", "estimators"},
    "cli": {"core", "data", "train", "_fast", "glassbox", "files", "views", "estimators", "apps"},
}
LEAVES = {"errors", "_version"}  # leaf modules every package may import
# Top-level modules that only re-export public names (the facade ``retroprop`` and its aliases).
FACADES = {"", "datasets", "sklearn", "__main__"}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted, without "retroprop."
    target: str  # imported module, dotted, without "retroprop." ("" = the package itself)
    names: tuple[str, ...]  # names taken from the target (empty for "import x")
    file: Path
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")) if dotted else Path()
    return (PKG / rel).with_suffix(".py").exists() or (PKG / rel / "__init__.py").exists()


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every import of retroprop in the file at ``path`` (module ``source``, default: its name)."""
    source = module_name(path) if source is None else source
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "retroprop" or alias.name.startswith("retroprop."):
                    target = alias.name.removeprefix("retroprop").lstrip(".")
                    found.append(Import(source, target, (), path, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module == "retroprop" or (node.module or "").startswith("retroprop."):
                target = (node.module or "").removeprefix("retroprop").lstrip(".")
            else:
                continue
            for alias in node.names:  # "from pkg import submodule" imports the submodule
                sub = f"{target}.{alias.name}".lstrip(".")
                if is_module(sub):
                    found.append(Import(source, sub, (), path, node.lineno))
                else:
                    found.append(Import(source, target, (alias.name,), path, node.lineno))
    return found


ALL_IMPORTS = [imp for path in sorted(PKG.rglob("*.py")) for imp in imports_of(path)]


def top(dotted: str) -> str:
    return dotted.split(".")[0]


def broken_rule(imp: Import) -> str | None:
    """The rule an import breaks, or None."""
    src, dst = top(imp.source), top(imp.target)
    if src in FACADES and "." not in imp.source:
        return None
    if imp.target in FACADES and "." not in imp.target:
        facade = ".".join(["retroprop", *([imp.target] if imp.target else [])])
        return f"imports the facade '{facade}'; import the module that defines the name"
    if dst in LEAVES or dst == src:
        return None
    if dst not in ALLOWED.get(src, set()):
        allowed = sorted(ALLOWED.get(src, set()) | LEAVES)
        return f"{src}/ may import only {allowed}, not {dst}/"
    private = [p for p in imp.target.split(".")[1:] if p.startswith("_")]
    if private:
        return f"imports the private module '{imp.target}' of another package"
    if any(name.startswith("_") for name in imp.names):
        return f"imports the private name(s) {list(imp.names)} of another package"
    return None


def test_every_import_points_down() -> None:
    problems = []
    for imp in ALL_IMPORTS:
        rule = broken_rule(imp)
        if rule:
            where = imp.file.relative_to(PKG.parent)
            problems.append(f"{where}:{imp.line}: retroprop.{imp.source} → {imp.target}: {rule}")
    assert not problems, "\n".join(problems)


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {module_name(p): set() for p in PKG.rglob("*.py")}
    for imp in ALL_IMPORTS:
        if imp.target != imp.source and imp.target in edges:
            edges[imp.source].add(imp.target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_every_package_says_what_it_may_import() -> None:
    for name in ALLOWED:
        doc = ast.get_docstring(ast.parse((PKG / name / "__init__.py").read_text("utf-8")))
        assert doc and "May import" in doc, f"{name}/__init__.py: docstring without 'May import'"


# The checker itself must catch what it is for.
@pytest.mark.parametrize(
    ("source", "target", "names", "expected"),
    [
        ("core.network", "views.i18n", (), "core/ may import only"),
        ("train.loop", "files.atomic", (), "train/ may import only"),
        ("cli.search", "estimators._base", (), "private module"),
        ("cli.train", "train.loop", ("_as_arrays",), "private name"),
        ("files.onnx_export", "", ("__version__",), "facade"),
        ("views.plots", "files.atomic", (), None),
        ("core.network", "errors", ("RetropropError",), None),
    ],
)
def test_the_rules_catch_what_they_should(
    source: str, target: str, names: tuple[str, ...], expected: str | None
) -> None:
    rule = broken_rule(Import(source, target, names, PKG / "x.py", 1))
    assert (rule is None) if expected is None else (rule is not None and expected in rule)


def test_cycle_finder_sees_a_cycle_through_three_modules() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_are_read(tmp_path: Path) -> None:
    path = tmp_path / "loop.py"
    path.write_text("def f():\n    if True:\n        from ..views import i18n\n")
    (imp,) = imports_of(path, source="train.loop")
    assert (imp.target, imp.line) == ("views.i18n", 3)
    assert "train/ may import only" in (broken_rule(imp) or "")
