"""The import layers of docs/architecture.md ("Layers"), enforced.

* ``lint-imports`` (import-linter, the ``test`` and ``dev`` extras) keeps the contracts in ``pyproject.toml``
  (``[tool.importlinter]``): 0 broken contracts.
* Independently of import-linter (so the suite fails on a regression without the dev extra), the
  imports in ``src/zhuizong`` read with ``ast``:
  - no function-level ``import zhuizong…`` outside ``zhuizong.cli`` (an import hidden in a
    function to dodge a cycle); in ``zhuizong.cli`` lazy imports (start-up time) point downward
    only, never into ``zhuizong.cli``;
  - every import between top-level packages goes down the ``layers`` contract's order, and
    packages of one layer (``a | b``) do not import each other;
  - no cycle of module-level imports between modules.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PKG = SRC / "zhuizong"


@dataclass(frozen=True)
class Import:
    importer: str  # module name, e.g. zhuizong.kpi.service
    imported: str  # the module it loads (a submodule when ``from pkg import submodule``)
    line: int
    in_function: bool
    type_checking: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(modules: dict[str, Path]) -> list[Import]:
    out: list[Import] = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

        def visit(node: ast.AST, in_function: bool, type_checking: bool,
                  name: str = name, is_package: bool = is_package) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    visit(child, True, type_checking)
                elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for s in child.body:
                        visit(ast.Module(body=[s], type_ignores=[]), in_function, True)
                    for s in child.orelse:
                        visit(ast.Module(body=[s], type_ignores=[]), in_function, type_checking)
                elif isinstance(child, ast.Import):
                    out.extend(Import(name, a.name, child.lineno, in_function, type_checking)
                               for a in child.names if a.name.split(".")[0] == "zhuizong")
                elif isinstance(child, ast.ImportFrom):
                    base = _resolve(name, is_package, child)
                    if base.split(".")[0] != "zhuizong":
                        continue
                    for a in child.names:
                        sub = f"{base}.{a.name}"
                        target = sub if sub in modules else base
                        out.append(Import(name, target, child.lineno, in_function, type_checking))
                else:
                    visit(child, in_function, type_checking)

        visit(tree, False, False)
    return out


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return _modules()


@pytest.fixture(scope="module")
def imports(modules: dict[str, Path]) -> list[Import]:
    return _imports(modules)


def _layers() -> list[list[str]]:
    """The top-level layers of the ``layers`` contract, top first: [["cli"], ["web", "demo"], …]."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in cfg["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    assert contract["containers"] == ["zhuizong"]
    return [[p.strip() for p in layer.replace(":", "|").split("|")] for layer in contract["layers"]]


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_function_level_imports(imports: list[Import]) -> None:
    hidden = [f"{i.importer}:{i.line} imports {i.imported} inside a function" for i in imports
              if i.in_function and not i.importer.startswith("zhuizong.cli")]
    assert not hidden, "\n".join(hidden)


def test_cli_lazy_imports_point_down(imports: list[Import]) -> None:
    up = [f"{i.importer}:{i.line} imports {i.imported} inside a function" for i in imports
          if i.in_function and i.importer.startswith("zhuizong.cli")
          and (i.imported == "zhuizong.cli" or i.imported.startswith("zhuizong.cli."))]
    assert not up, "\n".join(up)


def test_packages_import_downward(imports: list[Import], modules: dict[str, Path]) -> None:
    layers = _layers()
    level = {pkg: n for n, layer in enumerate(layers) for pkg in layer}
    tops = {_top(m) for m in modules} - {"", "__main__"}
    assert tops <= set(level), f"top-level modules in no layer: {sorted(tops - set(level))}"
    wrong = []
    for i in imports:
        a, b = _top(i.importer), _top(i.imported)
        if a == b or a not in level or b not in level:
            continue
        if level[b] <= level[a]:
            how = "sibling" if level[b] == level[a] else "upward"
            wrong.append(f"{i.importer}:{i.line} imports {i.imported} ({how}: {a} -> {b})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles(imports: list[Import], modules: dict[str, Path]) -> None:
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for i in imports:
        if not i.in_function and not i.type_checking and i.imported in graph \
                and i.imported != i.importer:
            graph[i.importer].add(i.imported)
    # Tarjan's strongly connected components (iterative)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        cycles.append(sorted(comp))
    assert not cycles, "module-level import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_lint_imports() -> None:
    """The contracts in pyproject.toml, checked by import-linter (in the ``test`` extra)."""
    import importlinter  # noqa: F401 - installed with the test extra; missing = failure
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    r = subprocess.run([*cmd, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout, r.stdout
