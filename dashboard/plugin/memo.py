"""A small thread-safe memo: what panels keep between requests (several run at once)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """The last ``size`` values by key, each computed once even when threads ask together.

    A value being computed holds its own key's lock only: a slow computation (clusters of a
    new map) does not hold up a lookup of another key (a hover on the old one).

    Examples
    --------
    >>> memo = Memo(2)
    >>> memo.get("a", lambda: 1), memo.get("a", lambda: 2)
    (1, 1)
    """

    def __init__(self, size: int = 16):
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[K, threading.Lock] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        """The value of ``key``, from ``compute()`` the first time (or after it was dropped)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._pending.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._values:
                    return self._values[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._pending.pop(key, None)
            self.put(key, value)
            return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` as ``key``'s (a newer one replaces it)."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def peek(self, key: K) -> V | None:
        """The value of ``key`` if kept, else None (nothing is computed)."""
        with self._lock:
            return self._values.get(key)

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()
