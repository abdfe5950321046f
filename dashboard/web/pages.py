"""The latest view of each open page, as the view callback last made it.

Dash reads a callback's State when the call starts. When a person does two things quickly,
the second call can start before the first one's answer is on the page, and it then reads
a view that is one change behind; and Dash drops the answer of a call still running when the
next starts. So the view callback does not trust the page's view alone: it keeps, per page,
the view it made last and the widget values it was sent, and starts from whichever view is
later (:attr:`dashboard.web.view.Book.rev`). A server with several worker processes, or one
restarted, has no memory of the page: the page's own view is used then.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.web.view import View


@dataclass(frozen=True)
class PageMemory:
    """What the view callback made of a page's last call."""

    view: View
    #: The view-bound widgets' values that call was sent, by path.
    seen: Mapping[str, Any]


class PageViews:
    """The last :class:`PageMemory` of each of the ``size`` pages used most recently."""

    def __init__(self, size: int = 1000):
        self.size = size
        self._pages: OrderedDict[str, PageMemory] = OrderedDict()
        self._lock = threading.Lock()
        self._page_locks = [threading.Lock() for _ in range(64)]

    def lock(self, page: str) -> threading.Lock:
        """The lock one page's calls take in turn (from reading its memory to keeping the
        new one), so two calls of a page the server runs at once see each other's change."""
        return self._page_locks[hash(page) % len(self._page_locks)]

    def get(self, page: str) -> PageMemory | None:
        with self._lock:
            memory = self._pages.get(page)
            if memory is not None:
                self._pages.move_to_end(page)
            return memory

    def latest(self) -> PageMemory | None:
        """The memory of the page used most recently (a notebook's inline page), or None."""
        with self._lock:
            return next(reversed(self._pages.values()), None)

    def put(self, page: str, memory: PageMemory) -> None:
        """Keep ``memory`` unless a later view of the page is kept already (two calls of one
        page can end in either order)."""
        with self._lock:
            kept = self._pages.get(page)
            if kept is not None and kept.view.book.rev > memory.view.book.rev:
                return
            self._pages[page] = memory
            self._pages.move_to_end(page)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
