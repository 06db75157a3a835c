"""The layers can be read from the tree: imports point one way, towards the core; no module is too long to
read, no function too long to follow.

    errors → data → model → {risk, markets, optimization} → signals → scenarios → stockpile
           → {investment, rules} → accessors → minsec (``minsec.load``) → service → web → server → cli

Every import counts — at module level or inside a function — except those under ``if TYPE_CHECKING:`` (type
hints only, never executed).  Packages of one layer (in braces) do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "minsec"
LAYERS: list[set[str]] = [
    {"errors"}, {"data"}, {"model"}, {"risk", "markets", "optimization"}, {"signals"}, {"scenarios"},
    {"stockpile"}, {"investment", "rules", "research"}, {"accessors"}, {"minsec"}, {"service"}, {"web"}, {"server"},
    {"cli"},
]
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
EXEMPT_FUNCTIONS = {"service/migrations/versions"}      # schema migrations are one long, linear script


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _unit(module: str) -> str:
    """The layer unit of a dotted module name: ``minsec.scenarios.run`` → ``scenarios``; ``minsec`` → ``minsec``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "minsec"


def _unit_of_file(path: Path) -> str:
    relative = path.relative_to(SRC)
    if relative == Path("__init__.py"):
        return "minsec"
    return relative.parts[0].removesuffix(".py")


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) — type hints, never executed."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _absolute(package: list[str], node: ast.ImportFrom) -> str:
    """The absolute module of a (possibly relative) ``from … import`` in a module of ``package``."""
    if node.level == 0:
        return node.module or ""
    base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(path: Path, package: list[str] | None = None) -> list[tuple[int, str]]:
    """(line, imported minsec module) for every runtime import in a file: ``import``, ``from … import``
    (relative ones resolved), and ``importlib.import_module("minsec…")`` / ``__import__`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hinted = _type_checking_lines(tree)
    package = package or ["minsec", *path.relative_to(SRC).parent.parts]
    found = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in hinted:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(package, node)
            if module == "minsec":       # from minsec import cli → the submodule when there is one
                found += [(node.lineno, f"minsec.{a.name}" if (SRC / a.name).exists() or
                           (SRC / f"{a.name}.py").exists() else "minsec") for a in node.names]
            else:
                found.append((node.lineno, module))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("importlib.import_module", "import_module",
                                                                       "__import__") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return [(line, module) for line, module in found if module.split(".")[0] == "minsec"]


def test_every_package_is_in_a_layer():
    units = {_unit_of_file(p) for p in _modules()}
    assert units <= set(LEVEL), f"not in a layer: {sorted(units - set(LEVEL))}"


def test_imports_point_towards_the_core():
    wrong = []
    for path in _modules():
        unit = _unit_of_file(path)
        for line, module in imports(path):
            target = _unit(module)
            if target == unit:
                continue
            if LEVEL[target] >= LEVEL[unit]:
                wrong.append(f"{path.relative_to(SRC)}:{line} ({unit}) imports {module} ({target})")
    assert not wrong, "\n".join(wrong)


def test_web_never_reaches_the_api_it_is_composed_with():
    """The pages depend on the service's shared dependencies (``service.deps``) and its lower modules, never on
    its routers or on ``server``, which composes both."""
    wrong = [f"{path.relative_to(SRC)}:{line} imports {module}" for path in (SRC / "web").rglob("*.py")
             for line, module in imports(path)
             if module.startswith(("minsec.service.routers", "minsec.server", "minsec.cli"))]
    assert not wrong, wrong


def test_the_checker_sees_every_form_of_import(tmp_path):
    probe = tmp_path / "probe.py"           # as if it were a module of minsec.web
    probe.write_text("import typing\nfrom typing import TYPE_CHECKING\nimport minsec.cli.core as c\n"
                     "from ..server import create_app\nfrom . import views\nif not TYPE_CHECKING:\n"
                     "    import minsec.service.routers\nif TYPE_CHECKING:\n    import minsec.cli\n"
                     "def f():\n    import importlib\n    importlib.import_module('minsec.server')\n")
    found = sorted(module for _, module in imports(probe, ["minsec", "web"]))
    # every runtime form is seen; only the import under `if TYPE_CHECKING:` (minsec.cli) is not
    assert found == ["minsec.cli.core", "minsec.server", "minsec.server", "minsec.service.routers", "minsec.web"]


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(SRC)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, long


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_function_is_over_80_lines(path):
    if any(str(path.relative_to(SRC)).startswith(e) for e in EXEMPT_FUNCTIONS):
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long


def test_every_error_class_is_a_minsec_error():
    """One base for everything a user can correct: no exception class of minsec's own outside the tree."""
    outside = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Error") or node.name.endswith("Exception")):
                module = ".".join(("minsec", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
                import importlib

                from minsec.errors import MinsecError

                cls = getattr(importlib.import_module(module), node.name)
                if not issubclass(cls, MinsecError):
                    outside.append(f"{module}.{node.name}")
    assert not outside, outside
