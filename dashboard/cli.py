"""Command line: ``python -m dashboard --config team.yaml [--host] [--port] [--debug]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dashboard.errors import DashboardError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser (also documents the options in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description=(
            "Serve an interactive embedding projector described by a YAML config: tables of "
            "embeddings are projected to 2D/3D with PCA, UMAP, t-SNE or plugin reducers."
        ),
        epilog="Example: python -m dashboard --config configs/demo.yaml --port 8050",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (2 for a bad config, with the reason on stderr)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from dashboard.app import create_app  # after argparse: `--help` stays instant

    try:
        app = create_app(args.config)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.getLogger("dashboard").info(
        "serving %s on http://%s:%d/", args.config, args.host, args.port
    )
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0
