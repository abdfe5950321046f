"""Debian's chromium as the browser tests and the benchmarks start it (never a downloaded one)."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--enable-unsafe-swiftshader",
    # The machine has no internet: without these, chromium's own connections are refused.
    "--disable-background-networking",
    "--disable-component-update",
]


def launch(playwright: Any) -> Any:
    """A headless chromium Browser from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
