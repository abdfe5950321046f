"""Command line.

``python -m dashboard --config team.yaml [--host] [--port] [--debug]`` serves the dashboard;
``python -m dashboard precompute --config team.yaml [...]`` fills the projection cache;
``python -m dashboard plugins [--config team.yaml]`` lists the plugins and what they provide;
``python -m dashboard demo [--port]`` serves the demo (scikit-learn's digits), shipped in the
package: it needs no checkout.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from dashboard.errors import DashboardError

EXIT_USAGE = 2
#: The demo config, shipped in the package (the same as the checkout's configs/demo.yaml).
DEMO_CONFIG = Path(__file__).with_name("demo.yaml")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (also documents the options in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description=(
            "Serve an interactive embedding projector described by a YAML config: tables of "
            "embeddings are projected to 2D/3D with PCA, UMAP, t-SNE or plugin reducers."
        ),
        epilog=(
            "Example: python -m dashboard --config configs/demo.yaml --port 8050\n"
            "Fill the projection cache first: python -m dashboard precompute --help\n"
            "List the installed plugins: python -m dashboard plugins\n"
            "Serve the demo (no config needed): python -m dashboard demo"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="YAML file describing the dashboard"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, local only)"
    )
    parser.add_argument("--port", type=int, default=8050, help="port to serve on (default: 8050)")
    parser.add_argument(
        "--debug", action="store_true", help="Dash debug mode: reload on change, error overlay"
    )
    return parser


def build_precompute_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m dashboard precompute``."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard precompute",
        description=(
            "Compute projections ahead of time into the cache directory, so opening the "
            "dashboard (or a second worker) shows them at once. Default: the config's "
            "reducer, params and dims for every table and logged set."
        ),
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="the dashboard's YAML")
    parser.add_argument(
        "--reducer",
        action="append",
        default=[],
        metavar="NAME",
        help="reducer to compute (repeatable; default: the config's)",
    )
    parser.add_argument(
        "--dims",
        type=int,
        nargs="+",
        choices=(2, 3),
        default=[],
        help="2 and/or 3 (default: the config's)",
    )
    parser.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="NAME",
        help="only this table or logged set (repeatable; default: all)",
    )
    return parser


def run_precompute(argv: Sequence[str]) -> int:
    """``precompute``: 0 when every projection is cached, 1 if one failed, 2 on bad input."""
    args = build_precompute_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from dashboard.serve.precompute import precompute, summary

    try:
        outcomes = precompute(args.config, reducers=args.reducer, dims=args.dims, tables=args.table)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(summary(outcomes))
    return 1 if any(o.error for o in outcomes) else 0


def run_plugins(argv: Sequence[str]) -> int:
    """``plugins``: list the registered plugins (0), or explain why they cannot load (2)."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard plugins",
        description="List the plugins (built-in and pip-installed) and what each provides.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="apply this config's `disable_plugins` (optional)"
    )
    args = parser.parse_args(argv)
    from dashboard.config import load_config
    from dashboard.plugin.manager import (
        build_registry,
        describe_plugins,
        get_plugin_manager,
        plugins_text,
    )

    try:
        disabled = load_config(args.config).disable_plugins if args.config else []
        pm = get_plugin_manager(disabled)
        print(plugins_text(describe_plugins(pm, build_registry(pm))))
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 for a bad config, with the reason on stderr)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["precompute"]:
        return run_precompute(argv[1:])
    if argv[:1] == ["plugins"]:
        return run_plugins(argv[1:])
    if argv[:1] == ["demo"]:
        argv = ["--config", str(DEMO_CONFIG), *argv[1:]]
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from dashboard.web.app import create_app  # after argparse: `--help` stays instant

    try:
        app = create_app(args.config)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app.dashboard.context.jobs.warm()  # the first map need not wait for a worker to start
    logging.getLogger("dashboard").info(
        "serving %s on http://%s:%d/", args.config, args.host, args.port
    )
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0
