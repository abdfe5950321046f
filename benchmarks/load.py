"""Bounded loopback load test: many clients on the dashboard's callbacks and image route.

    .venv/bin/python benchmarks/load.py [--clients 50] [--seconds 60] [--workers 2 --threads 8]

Serves the digits demo with gunicorn on 127.0.0.1, records the callback requests a person's
page sends (loading, recolouring, hovering, clicking a point; headless chromium), then has
``--clients`` threads replay them and fetch random rows' images for ``--seconds``. The
baseline is a plain Flask app under the same gunicorn settings with two routes that do no
work (a fixed PNG, a JSON echo): the ceiling of the server stack itself. Prints requests per
second, p50/p95 latency and errors for each, and the ratio. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
MAX_CLIENTS, MAX_SECONDS = 200, 600  # the test is bounded whatever the arguments say

PLAIN_APP = r"""
import flask
from dashboard.writer.image import Image
import numpy as np
server = flask.Flask(__name__)
PNG = Image(np.eye(8)).png

@server.get("/img/<int:row>")
def img(row):
    return flask.Response(PNG, mimetype="image/png")

@server.post("/echo")
def echo():
    return flask.jsonify(flask.request.get_json())
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int, threads: int) -> Iterator[int]:
    """Run gunicorn on a loopback port until the block ends; yield the port."""
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    command = [GUNICORN, "-w", str(workers), "--threads", str(threads)]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", app]
    proc = subprocess.Popen(
        command, cwd=env.get("CWD", ROOT), env={**os.environ, **env}, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"gunicorn exited: {log.read()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer") from None
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def record_callbacks(port: int, browser: object | None = None) -> list[bytes]:
    """The bodies of the plain (not background) callback requests a page sends while a
    person loads it, recolours the map, hovers a point and clicks it (in ``browser``, a
    playwright Browser, or a chromium started here)."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        from tests.chromium import launch

        with sync_playwright() as p:
            own = launch(p)
            try:
                return record_callbacks(port, own)
            finally:
                own.close()
    bodies: list[bytes] = []

    def keep(request) -> None:
        if "_dash-update-component" in request.url and "cacheKey" not in request.url:
            body = request.post_data_buffer or b""
            # The background projection is polled, not answered at once: not replayed.
            if "dashboard-projection.data" not in json.loads(body).get("output", ""):
                bodies.append(body)

    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.on("request", keep)
    page.goto(f"http://127.0.0.1:{port}/")
    page.locator("#dashboard-status").filter(has_text="PCA 2D").wait_for(timeout=120_000)
    graph = "#scatter-1-graph .js-plotly-plot"
    page.wait_for_function(f"() => document.querySelector('{graph}')?._fullData?.length")
    colour = '{"key":"maps/1/colour","panel":1,"type":"dashboard-view"}'
    page.locator(f"[id='{colour}']").select_option("ink")
    page.wait_for_timeout(1500)
    for row in (3, 10, 200):
        x, y = page.evaluate(
            f"""() => {{ const gd = document.querySelector('{graph}');
            const fl = gd._fullLayout, t = gd._fullData[0], b = gd.getBoundingClientRect();
            return [b.left + fl._size.l + fl.xaxis.l2p(t.x[{row}]),
                    b.top + fl._size.t + fl.yaxis.l2p(t.y[{row}])]; }}"""
        )
        page.mouse.move(x, y)
        page.wait_for_timeout(600)
    page.mouse.click(x, y)
    page.wait_for_timeout(2000)
    page.goto("about:blank")
    context.close()
    return bodies


@dataclass
class Tally:
    """Latencies (seconds) and errors per kind of request, shared by the client threads."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error:
                self.errors.setdefault(kind, []).append(error)


Request = Callable[[http.client.HTTPConnection], tuple[str, int]]


def run_clients(port: int, requests: list[Request], clients: int, seconds: float) -> Tally:
    """``clients`` threads, each with its own keep-alive connection, sending random
    ``requests`` until ``seconds`` have passed."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            send = rng.choice(requests)
            start = time.perf_counter()
            error = None
            try:
                kind, status = send(conn)
                if status not in (200, 204, 302):
                    error = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                kind, error = "connection", repr(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            tally.add(kind, time.perf_counter() - start, error)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return tally


def post(path: str, body: bytes, kind: str) -> Request:
    def send(conn: http.client.HTTPConnection) -> tuple[str, int]:
        headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return kind, response.status

    return send


def get(path_of: Callable[[], str], kind: str) -> Request:
    def send(conn: http.client.HTTPConnection) -> tuple[str, int]:
        conn.request("GET", path_of(), headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        response.read()
        return kind, response.status

    return send


def summary(tally: Tally, seconds: float) -> dict[str, dict[str, float]]:
    rows = {}
    for kind, values in sorted(tally.latencies.items()):
        ms = np.array(values) * 1000
        rows[kind] = {
            "requests": len(values),
            "per_second": len(values) / seconds,
            "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)),
            "errors": len(tally.errors.get(kind, [])),
        }
    return rows


def measure(
    clients: int, seconds: float, workers: int, threads: int, browser: object | None = None
) -> dict[str, object]:
    """Run the dashboard and the plain baseline under the same load; return both summaries
    (``browser``: a playwright Browser to record the page's requests with)."""
    from dashboard.data.sklearn_source import materialise

    clients, seconds = min(clients, MAX_CLIENTS), min(seconds, MAX_SECONDS)
    folder = Path(tempfile.mkdtemp(prefix="load-"))
    digits = materialise("digits", folder / "data")
    config = {
        "title": "Load test",
        "cache_dir": str(folder / "cache"),
        "tables": {
            "digits": {"path": str(digits), "label": "label", "image": "image", "text": "text"}
        },
        "panels": [
            {"type": "controls"},
            {"type": "scatter", "color": "target"},
            {"type": "neighbors", "k": 8},
            {"type": "gallery"},
        ],
    }
    (folder / "load.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = {"DASHBOARD_CONFIG": str(folder / "load.yaml")}
    results: dict[str, object] = {"clients": clients, "seconds": seconds}
    with gunicorn("dashboard.serve.wsgi:server", env, workers, threads) as port:
        bodies = record_callbacks(port, browser)
        image = get(lambda: f"/_dashboard/image/{random.randrange(1797)}?table=digits", "image")
        requests = [post("/_dash-update-component", b, "callback") for b in bodies]
        requests += [image] * len(requests)  # half callbacks, half images
        results["recorded_callbacks"] = len(bodies)
        results["dashboard"] = summary(run_clients(port, requests, clients, seconds), seconds)
    (folder / "plain.py").write_text(PLAIN_APP)
    plain_env = {"PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]), "CWD": str(folder)}
    with gunicorn("plain:server", plain_env, workers, threads) as port:
        echo = json.dumps({"output": "x.children", "inputs": [{"value": 1}]}).encode()
        requests = [post("/echo", echo, "callback"), get(lambda: "/img/1", "image")]
        results["plain"] = summary(run_clients(port, requests, clients, seconds), seconds)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    results = measure(args.clients, args.seconds, args.workers, args.threads)
    print(
        f"\n{results['clients']} clients for {results['seconds']:g} s, gunicorn "
        f"{args.workers} workers x {args.threads} threads, {results['recorded_callbacks']} "
        "recorded callback requests replayed\n"
    )
    print("| server | request | req/s | p50 | p95 | errors |")
    print("|---|---|---|---|---|---|")
    for server in ("dashboard", "plain"):
        for kind, row in results[server].items():  # type: ignore[union-attr]
            print(
                f"| {server} | {kind} | {row['per_second']:.0f} | {row['p50_ms']:.0f} ms "
                f"| {row['p95_ms']:.0f} ms | {row['errors']} |"
            )
    ours, plain = results["dashboard"], results["plain"]
    for kind in ("callback", "image"):
        if kind in ours and kind in plain:  # type: ignore[operator]
            ratio = ours[kind]["per_second"] / plain[kind]["per_second"]  # type: ignore[index]
            print(f"\n{kind}: dashboard throughput is {ratio:.2f}x the plain Flask route's")


if __name__ == "__main__":
    main()
