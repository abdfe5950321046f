"""Security: config loading, binding, routes that read files, no evaluation of strings."""

from __future__ import annotations

import ast

import numpy as np
import polars as pl
import pytest

from dashboard.errors import ConfigError
from dashboard.serve.cli import build_parser
from dashboard.web.app import create_app
from dashboard.writer.image import Image
from tests.conftest import ROOT


def test_yaml_tags_that_build_python_objects_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "team.yaml").write_text(
        f"tables: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    from dashboard.web.assemble import prepare

    with pytest.raises(ConfigError, match=r"team\.yaml: invalid YAML at line 1.*python/object"):
        prepare(tmp_path / "team.yaml")
    assert not marker.exists()


def test_the_server_binds_loopback_unless_told_otherwise():
    assert build_parser().parse_args(["--config", "x.yaml"]).host == "127.0.0.1"


def test_no_string_is_evaluated_and_yaml_is_loaded_safely():
    """No eval/exec/compile, pickle or yaml.load anywhere in the package: a config string or
    a table cell is data, never code."""
    banned_calls = {"eval", "exec", "compile", "__import__"}
    found = []
    for folder in ("dashboard", "plugins", "reducers"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = getattr(func, "id", None) or getattr(func, "attr", None)
                    owner = getattr(getattr(func, "value", None), "id", None)
                    if name in banned_calls and owner in (None, "builtins"):
                        found.append(f"{path.name}:{node.lineno} {name}()")
                    if owner == "yaml" and name in {"load", "unsafe_load", "full_load"}:
                        found.append(f"{path.name}:{node.lineno} yaml.{name}()")
                    if owner == "np" and name == "load":
                        keywords = {k.arg: k.value for k in node.keywords}
                        allow = keywords.get("allow_pickle")
                        if not (isinstance(allow, ast.Constant) and allow.value is False):
                            found.append(f"{path.name}:{node.lineno} np.load without allow_pickle")
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                    if any(n.split(".")[0] in ("pickle", "marshal", "shelve") for n in names):
                        found.append(f"{path.name}:{node.lineno} imports pickle-like module")
    assert found == []


def test_image_cells_cannot_reach_files_outside_the_table_folder(tmp_path, write_config):
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "secret.png").write_bytes(Image(np.eye(4)).png)
    (data / "link.png").symlink_to(tmp_path / "secret.png")  # a link that leaves the folder
    (data / "page.png").write_bytes(b"<script>alert(1)</script>")
    cells = ["link.png", "../secret.png", str(tmp_path / "secret.png"), "javascript:alert(1)"]
    pl.DataFrame(
        {
            "v": [[float(i), 1.0] for i in range(6)],
            "img": [*cells, "page.png", None],
        }
    ).write_parquet(data / "t.parquet")
    config = write_config({"tables": {"t": {"path": str(data / "t.parquet"), "image": "img"}}})
    client = create_app(config).server.test_client()
    for row in range(len(cells)):
        reply = client.get(f"/_dashboard/image/{row}", query_string={"table": "t"})
        assert reply.status_code == 404, cells[row]
    html_bytes = client.get("/_dashboard/image/4", query_string={"table": "t"})
    assert html_bytes.headers["X-Content-Type-Options"] == "nosniff"
    assert not html_bytes.mimetype.startswith("text/")
    assert client.get("/_dashboard/image/0", query_string={"table": "../t"}).status_code == 404


@pytest.mark.parametrize("row", ["-1", "abc", "1.5", "99999999999999999999", "1%00", "%00", "6"])
@pytest.mark.parametrize("route", ["image", "row"])
def test_routes_answer_rows_that_are_not_rows_with_404(write_config, tmp_path, row, route):
    pl.DataFrame({"v": [[float(i), 1.0] for i in range(6)], "img": [None] * 6}).write_parquet(
        tmp_path / "t.parquet"
    )
    config = write_config({"tables": {"t": {"path": str(tmp_path / "t.parquet"), "image": "img"}}})
    client = create_app(config).server.test_client()
    reply = client.get(f"/_dashboard/{route}/{row}", query_string={"table": "t"})
    assert reply.status_code == 404, reply.get_data(as_text=True)[:200]
    assert b"_dash-config" not in reply.data  # a plain 404, not the app's page
