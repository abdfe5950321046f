"""pynndescent's nearest-neighbour descent, compiled once per machine instead of per process.

umap-learn finds each point's neighbours with pynndescent's ``nn_descent``. Its compiled code
cannot be kept in numba's on-disk cache: ``nn_descent`` and the helpers it calls take the
distance function as an argument, and a function passed that way is a "dynamic global" to
numba. So every new process spent about 9 s of a 100k-row map compiling it again (first
search 11.4 s, a second one in the same process 2.0 s).

:func:`nn_descent` here is the same algorithm for the two dense metrics the dashboard's
reducers use most: squared euclidean (``metric="euclidean"``) and pynndescent's alternative
dot (``metric="cosine"`` on unit-normalised rows). It is pynndescent 0.7's code with the
distance called by name (chosen by ``kernel``), so numba caches it: random-projection-tree
leaves seed the graph, random neighbours fill it, then candidate joins with pynndescent's
batched kernels until fewer than ``delta`` of the edges change. The data structures and every
helper without a distance argument are pynndescent's own (``pynndescent.utils``,
``pynndescent.kernels``).

:func:`cached_neighbors` routes pynndescent's calls through it for the calling thread only
and only for those metrics (every other call, and every other thread, keeps pynndescent's
``nn_descent``). The swap is guarded (:class:`reducers.umap_patch.GuardedPatch`): pynndescent
versions without these helpers, or whose ``nn_descent`` takes other parameters, keep their own
code, and if ours raises the call is repeated with pynndescent's; the log says so once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import numba
import numpy as np

from reducers.umap_patch import GuardedPatch

logger = logging.getLogger(__name__)

try:  # pynndescent >= 0.7: the owner-computes candidates and the batched join kernels
    from pynndescent.distances import alternative_dot, squared_euclidean
    from pynndescent.kernels import (
        KERNEL_ALT_DOT,
        KERNEL_SQEUCLIDEAN,
        generate_graph_update_array_batched,
        select_kernel,
    )
    from pynndescent.utils import (
        apply_graph_update_array,
        apply_sorted_graph_update_array,
        build_candidates_owner,
        checked_flagged_heap_push,
        deheap_sort,
        int32_bits_as_float32,
        make_heap,
        sort_updates_by_block,
        tau_rand_int,
    )
except ImportError as error:  # pragma: no cover - depends on the installed pynndescent
    _MISSING: str | None = str(error)
else:
    _MISSING = None

BLOCK_SIZE = 16384  # rows joined per block, as in pynndescent


if _MISSING is None:

    @numba.njit(fastmath=True, inline="always")
    def _distance(x: np.ndarray, y: np.ndarray, kernel: int) -> np.float32:
        if kernel == KERNEL_SQEUCLIDEAN:
            return squared_euclidean(x, y)
        return alternative_dot(x, y)

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _leaf_updates(updates, n_updates_per_thread, leaf_block, heap_distances, data, kernel):
        """Each thread's candidate pairs from the points sharing a tree leaf."""
        n_threads = updates.shape[0]
        n_leaves = leaf_block.shape[0]
        leaves_per_thread = (n_leaves // n_threads) + 1
        for t in numba.prange(n_threads):
            end_leaf = min((t + 1) * leaves_per_thread, n_leaves)
            count = 0
            for leaf in range(t * leaves_per_thread, end_leaf):
                for i in range(leaf_block.shape[1]):
                    p = leaf_block[leaf, i]
                    if p < 0:
                        break
                    for j in range(i + 1, leaf_block.shape[1]):
                        q = leaf_block[leaf, j]
                        if q < 0:
                            break
                        d = _distance(data[p], data[q], kernel)
                        threshold = max(heap_distances[p, 0], heap_distances[q, 0])
                        if d < threshold and count < updates.shape[1]:
                            updates[t, count, 0] = int32_bits_as_float32(p)
                            updates[t, count, 1] = int32_bits_as_float32(q)
                            updates[t, count, 2] = d
                            count += 1
            n_updates_per_thread[t] = count

    @numba.njit(cache=True)
    def _init_from_leaves(data, current_graph, leaf_array, kernel, n_threads):
        """Seed the graph with the pairs that share a random-projection-tree leaf."""
        n_leaves = leaf_array.shape[0]
        block_size = n_threads * 64
        max_leaf_size = leaf_array.shape[1]
        per_thread = int(block_size * max_leaf_size * (max_leaf_size - 1) / (2 * n_threads)) + 1
        updates = np.zeros((n_threads, per_thread, 3), dtype=np.float32)
        n_updates_per_thread = np.zeros(n_threads, dtype=np.int32)
        sorted_updates = np.empty((n_threads, 2 * per_thread, 3), dtype=np.float32)
        block_offsets = np.zeros((n_threads, n_threads + 1), dtype=np.int64)
        n_vertices = current_graph[0].shape[0]
        for i in range(n_leaves // block_size + 1):
            leaf_block = leaf_array[i * block_size : min(n_leaves, (i + 1) * block_size)]
            _leaf_updates(updates, n_updates_per_thread, leaf_block, current_graph[1], data, kernel)
            sort_updates_by_block(
                updates, n_updates_per_thread, sorted_updates, block_offsets, n_vertices, n_threads
            )
            apply_sorted_graph_update_array(current_graph, sorted_updates, block_offsets, n_threads)

    @numba.njit(fastmath=True, cache=True, locals={"idx": numba.int32})
    def _init_random(n_neighbors, data, heap, rng_state, kernel):
        """Fill the rows the leaves left short with random neighbours."""
        n = data.shape[0]
        for i in range(n):
            if heap[0][i, 0] < 0.0:
                for _ in range(n_neighbors - np.sum(heap[0][i] >= 0.0)):
                    idx = np.abs(tau_rand_int(rng_state)) % n
                    while n > 1 and idx == i:
                        idx = np.abs(tau_rand_int(rng_state)) % n
                    d = _distance(data[idx], data[i], kernel)
                    checked_flagged_heap_push(
                        heap[1][i], heap[0][i], heap[2][i], d, idx, np.uint8(1)
                    )

    @numba.njit(cache=True)
    def _nn_descent(
        data, n_neighbors, rng_state, max_candidates, n_iters, delta, leaf_array, kernel, n_threads
    ):
        """pynndescent 0.7's ``nn_descent`` and ``nn_descent_internal`` for one kernel."""
        current_graph = make_heap(data.shape[0], n_neighbors)
        _init_from_leaves(data, current_graph, leaf_array, kernel, n_threads)
        _init_random(n_neighbors, data, current_graph, rng_state, kernel)

        n_vertices = data.shape[0]
        n_blocks = n_vertices // BLOCK_SIZE
        # Every candidate pair of a block can yield one update.
        max_updates_per_thread = (
            int(
                (max_candidates**2 + max_candidates * (max_candidates - 1) / 2)
                * BLOCK_SIZE
                / n_threads
            )
            + 1024
        )
        update_array = np.empty((n_threads, max_updates_per_thread, 3), dtype=np.float32)
        n_updates_per_thread = np.zeros(n_threads, dtype=np.int32)
        if n_threads > 1:  # each update goes to at most two destination blocks
            sorted_updates = np.empty((n_threads, 2 * max_updates_per_thread, 3), dtype=np.float32)
        else:
            sorted_updates = np.empty((1, 1, 3), dtype=np.float32)
        block_offsets = np.zeros((n_threads, n_threads + 1), dtype=np.int64)
        new_indices = np.full((n_vertices, max_candidates), -1, dtype=np.int32)
        new_priority = np.full((n_vertices, max_candidates), np.inf, dtype=np.float32)
        old_indices = np.full((n_vertices, max_candidates), -1, dtype=np.int32)
        old_priority = np.full((n_vertices, max_candidates), np.inf, dtype=np.float32)
        active = np.ones(n_vertices, dtype=np.uint8)
        reverse_dst = np.empty(n_vertices * n_neighbors, dtype=np.int32)
        reverse_src = np.empty(n_vertices * n_neighbors, dtype=np.int32)
        bucket_bounds = np.zeros((n_threads, n_threads + 1), dtype=np.int64)

        for _ in range(n_iters):
            new_candidates, old_candidates = build_candidates_owner(
                current_graph,
                max_candidates,
                rng_state,
                n_threads,
                new_indices,
                new_priority,
                old_indices,
                old_priority,
                active,
                reverse_dst,
                reverse_src,
                bucket_bounds,
            )
            changed = 0
            for i in range(n_blocks + 1):
                start, end = i * BLOCK_SIZE, min(n_vertices, (i + 1) * BLOCK_SIZE)
                generate_graph_update_array_batched(
                    update_array,
                    n_updates_per_thread,
                    new_candidates[start:end],
                    old_candidates[start:end],
                    current_graph,
                    data,
                    kernel,
                    n_threads,
                )
                if n_threads > 1:
                    sort_updates_by_block(
                        update_array,
                        n_updates_per_thread,
                        sorted_updates,
                        block_offsets,
                        n_vertices,
                        n_threads,
                    )
                    changed += apply_sorted_graph_update_array(
                        current_graph, sorted_updates, block_offsets, n_threads
                    )
                else:
                    changed += apply_graph_update_array(
                        current_graph, update_array, n_updates_per_thread, n_threads
                    )
            if changed <= delta * n_neighbors * n_vertices:
                break

        return deheap_sort(current_graph[0], current_graph[1])


def nn_descent(data: Any, n_neighbors: int, rng_state: np.ndarray, *args: Any, **kwargs: Any):
    """Drop-in for ``pynndescent.pynndescent_.nn_descent``.

    Calls from a thread inside :func:`cached_neighbors`, for the squared euclidean or
    alternative dot distance on a float32 C-ordered matrix, seeded by tree leaves and without
    an initial graph, run :func:`_nn_descent`; every other call runs pynndescent's own.
    """
    original = _PATCH.original
    assert original is not None, "installed by cached_neighbors()"
    if not _PATCH.active() or _MISSING is not None:
        return original(data, n_neighbors, rng_state, *args, **kwargs)
    names = ("max_candidates", "dist", "n_iters", "delta", "init_graph", "rp_tree_init")
    named = dict(zip(names, args, strict=False)) | kwargs
    init_graph = named.get("init_graph")
    leaf_array = named.get("leaf_array")
    # pynndescent's own choice: 0 unless the metric has a batched kernel and `data` suits it.
    kernel = select_kernel(named.get("dist"), data)
    ours = (
        kernel in (KERNEL_SQEUCLIDEAN, KERNEL_ALT_DOT)
        and len(args) <= len(names)
        and (init_graph is None or init_graph[0].shape[0] == 1)  # pynndescent's EMPTY_GRAPH
        and named.get("rp_tree_init", True)
        and isinstance(leaf_array, np.ndarray)
        and leaf_array.ndim == 2
        and not named.get("verbose", False)
    )
    if not ours:
        return original(data, n_neighbors, rng_state, *args, **kwargs)
    state = rng_state.copy()  # the descent advances it: a retry starts from the same state
    try:
        return _nn_descent(
            data,
            int(n_neighbors),
            rng_state,
            int(named.get("max_candidates", 50)),
            int(named.get("n_iters", 10)),
            float(named.get("delta", 0.001)),
            leaf_array,
            kernel,
            # pynndescent's own reads this inside its compiled code (what made it uncacheable).
            numba.get_num_threads(),
        )
    except Exception as exc:  # ours broke (a pynndescent helper changed): use theirs
        fallback = _PATCH.fallback(exc)
        rng_state[:] = state
        return fallback(data, n_neighbors, rng_state, *args, **kwargs)


#: pynndescent 0.7's parameters of ``nn_descent``, which ours takes.
EXPECTED_PARAMETERS = (
    "data",
    "n_neighbors",
    "rng_state",
    "max_candidates",
    "dist",
    "n_iters",
    "delta",
    "init_graph",
    "rp_tree_init",
    "leaf_array",
    "low_memory",
    "verbose",
    "kernel",
)
_PATCH = GuardedPatch(
    "pynndescent.pynndescent_", "nn_descent", nn_descent, EXPECTED_PARAMETERS, "pynndescent"
)


@contextlib.contextmanager
def cached_neighbors() -> Iterator[bool]:
    """Within this block, neighbour searches in this thread use the cacheable descent (yields
    whether it is installed: False with a pynndescent it was not written for)."""
    if _MISSING is not None:
        logger.debug("umap: pynndescent's own neighbour search (%s)", _MISSING)
        yield False
        return
    with _PATCH.enabled() as installed:
        yield installed
