"""The dependency direction of STYLE.md, read from the source: web -> (models, matchmaker)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "matchmaker": {"web", "models", "seeds", "sqlalchemy", "fastapi"},
    "models": {"web", "matchmaker", "seeds"},
}


def imported_top_levels(path: Path) -> set[str]:
    """Top-level package names a Python file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_layering(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & FORBIDDEN[package]) for path in files
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_layering_check_detects_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from web.app import create_app\nimport models.user\n")
    assert imported_top_levels(sample) == {"web", "models"}


# --- services know nothing of the web framework (STYLE.md) ------------------------------------------------------

SERVICES = ROOT / "web" / "services"
# What a service may not import: the framework, and the web layer's parts that hold it (routes, jobs, templating).
SERVICE_FORBIDDEN_MODULES = ("fastapi", "starlette", "web.routes", "web.jobs", "web.templating")
SERVICE_FORBIDDEN_PARAMETERS = ("request", "app")
NOT_YET_MOVED: set[tuple[str, str]] = set()  # every service now gets its collaborators as arguments


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module a file imports, with `from web import jobs` read as web.jobs (absolute imports only)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def framework_offences(path: Path) -> set[str]:
    """What in one file breaks the rule: forbidden imports, functions taking a request or the app."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {f"imports {banned}" for module in imported_modules(tree)
             for banned in SERVICE_FORBIDDEN_MODULES if module == banned or module.startswith(banned + ".")}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a]
            found.update(f"{getattr(node, 'name', 'lambda')}({param})" for param in params
                         if param in SERVICE_FORBIDDEN_PARAMETERS)
    return found


def test_services_know_nothing_of_the_web_framework():
    files = sorted(SERVICES.rglob("*.py"))
    assert len(files) > 20
    offences = {(str(path.relative_to(ROOT)), offence) for path in files for offence in framework_offences(path)}
    assert offences - NOT_YET_MOVED == set(), ("services take plain arguments (STYLE.md); "
                                               "see web/services/after_commit.py")
    assert NOT_YET_MOVED - offences == set(), "fixed: remove these entries from NOT_YET_MOVED"


def test_framework_check_detects_imports_and_parameters(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from fastapi import Request\nfrom web import jobs\nimport starlette.requests\n"
                      "from web.routes.auth import start_session\nfrom web.templating import render\n"
                      "from web.services import after_commit\n"
                      "def page(session, request): ...\nasync def nudge(app, *, job): ...\n"
                      "def fine(session, req, application): ...\n")
    assert framework_offences(sample) == {"imports fastapi", "imports web.jobs", "imports starlette",
                                          "imports web.routes", "imports web.templating", "page(request)", "nudge(app)"}
