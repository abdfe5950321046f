"""The rooms keep their doors: plugins see only the plugin API, training scripts get no web
stack, and each job has one helper."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_CODE = [
    *sorted((ROOT / "plugins").glob("*.py")),
    *sorted((ROOT / "reducers").glob("*.py")),
    *sorted((ROOT / "examples" / "plugins").glob("*/*/*.py")),
]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at any depth: function-level imports too), by line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            if node.module == "dashboard":  # `from dashboard import x` names module x too
                found += [(node.lineno, f"dashboard.{alias.name}") for alias in node.names]
    return found


def test_plugins_and_reducers_import_only_the_public_plugin_api():
    assert len(PLUGIN_CODE) > 20
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in PLUGIN_CODE
        for line, module in imported_modules(path)
        if module.split(".")[0] == "dashboard"
        and not (module == "dashboard.plugin" or module.startswith("dashboard.plugin."))
    ]
    assert offending == []


def test_the_import_check_sees_a_reach_into_the_host(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from dashboard.web.app import create_app\nfrom dashboard import config\n"
    )
    modules = [m for _, m in imported_modules(bad)]
    assert "dashboard.web.app" in modules
    assert "dashboard.config" in modules


@pytest.mark.parametrize(
    "statement", ["import dashboard", "from dashboard import Table, Image, init, log"]
)
def test_the_writer_api_imports_no_web_stack(statement):
    code = (
        f"import sys; {statement}; "
        "print(sorted(m for m in ('dash', 'flask', 'plotly', 'dash_bootstrap_components') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_app_factory_is_still_one_attribute_away():
    code = "import dashboard, sys; dashboard.create_app; print('dash' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "True"


def calls(path: Path, names: set[str]) -> list[str]:
    """Calls in ``path`` of functions called one of ``names`` (``os.replace``, ...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            dotted = (
                f"{func.value.id}.{func.attr}"
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else getattr(func, "id", "")
            )
            if dotted in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {dotted}")
    return found


def test_files_are_put_in_place_by_one_atomic_write():
    code = [*sorted((ROOT / "dashboard").rglob("*.py")), *PLUGIN_CODE]
    renames = [
        call
        for path in code
        if path.name != "files.py"
        for call in calls(path, {"os.replace", "os.rename", "tempfile.mkstemp", "mkstemp"})
    ]
    assert renames == []
