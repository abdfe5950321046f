"""A host Flask application with the dashboard mounted at /projector/ (browser test)."""

from __future__ import annotations

import argparse

import flask

from dashboard import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = flask.Flask("host")

    @server.route("/")
    def home() -> str:
        return "host application"

    create_app(args.config, server=server, url_base_pathname="/projector/")
    server.run(host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
