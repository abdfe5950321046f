"""A faster UMAP layout optimiser for 2D and 3D maps, used by the UMAP reducer.

umap-learn spends most of a 100k-row fit in ``optimize_layout_euclidean``: 200 epochs of
stochastic gradient steps over the graph's edges, each positive step followed by
``negative_sample_rate`` repulsive steps from random points. Two things make its loop slow on
a CPU: every repulsive step reads back the moving point from memory (it may alias the random
point, so the compiler cannot keep it in registers), so the steps of one edge form a chain of
dependent loads and stores; and the maths runs in float64.

Here the repulsive steps of an edge are computed from the point's position after its
attractive step and applied together, so they are independent and overlap; positions and
maths stay in float32. The gradients' powers ``d**b`` and ``d**(b - 1)`` (about half the
loop's time as ``pow`` calls, and on the chain of dependent steps) are read from a table made
once per fit: linear interpolation in 64 pieces per power of two, relative error below 1e-4
(:func:`power_table`). The objective, the sampling schedule (epochs per sample, negative
samples per edge, learning-rate decay), the gradient formulas and their clipping at 4 are
umap-learn's. On 100k rows the layout runs about 3.5x faster than umap-learn's on two cores
(4x on one), and trustworthiness stays within run-to-run noise (``docs/benchmarks.md``).

``transform`` runs the same loop to place new points among the fitted ones (which stay put),
split by new point over the threads: 50,000 rows placed in 1.5 s against umap-learn's 13 s
here, and the same places on one thread or two.

umap-learn calls ``umap.umap_.optimize_layout_euclidean`` by name; :func:`faster_layout`
swaps in :func:`optimize_layout_euclidean` for the calling thread only: other threads (and
other users of umap-learn in the process) keep umap-learn's own. The swap is guarded
(:class:`reducers.umap_patch.GuardedPatch`): with a umap-learn whose function takes other
parameters, or if our loop raises, umap-learn's own loop runs, and the log says so once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from reducers.umap_patch import GuardedPatch, Stopped

#: Called as ``progress(epochs_done, n_epochs)`` after each reporting epoch.
EpochProgress = Callable[[int, int], None]

REPORT_EVERY = 10  # epochs between progress reports
MANTISSA_BITS = 6  # power table: 2**6 linear pieces per power of two
_SHIFT = 23 - MANTISSA_BITS  # float32 bits above this are the table row
_FRACTION = np.float32(2.0**-_SHIFT)


def power_table(b: float) -> np.ndarray:
    """Rows for :func:`_powers`: ``x**b`` and ``x**(b - 1)`` over every float32 ``x > 0``.

    Row ``r`` covers the floats whose bits above the last ``_SHIFT`` are ``r`` (one exponent
    and ``MANTISSA_BITS`` mantissa bits): columns 0 and 2 hold the two powers at the row's
    first float, 1 and 3 their rise to the next row's, so ``x`` in between interpolates
    linearly. Subnormals use the smallest normal float; overflow is capped at float32's max.
    """
    rows = np.arange(2 ** (8 + MANTISSA_BITS) + 1, dtype=np.float64)
    exponent, piece = np.divmod(rows, 2**MANTISSA_BITS)
    start = np.ldexp(1.0 + piece / 2**MANTISSA_BITS, (exponent - 127).astype(int))
    start[exponent == 0] = np.finfo(np.float32).tiny
    high = float(np.finfo(np.float32).max)
    table = np.empty((len(rows) - 1, 4), dtype=np.float32)
    with np.errstate(over="ignore"):
        for column, power in ((0, b), (2, b - 1.0)):
            values = np.minimum(start**power, high)
            table[:, column] = values[:-1]
            table[:, column + 1] = np.clip(np.diff(values), -high, high)
    return table


@intrinsic
def _float_bits(typingctx: Any, x: Any) -> Any:
    """The bits of a float32 as an int32 (a bitcast: no conversion)."""
    if not isinstance(x, types.Float) or x.bitwidth != 32:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(x), codegen


@numba.njit(fastmath=True, inline="always", error_model="numpy", cache=True)
def _powers(x: np.float32, table: np.ndarray) -> tuple[np.float32, np.float32]:
    """``(x**b, x**(b - 1))`` for ``x > 0`` from ``power_table(b)``: a load and a multiply-add."""
    bits = _float_bits(x)
    row = bits >> _SHIFT
    fraction = np.float32(bits & ((1 << _SHIFT) - 1)) * _FRACTION
    return table[row, 0] + table[row, 1] * fraction, table[row, 2] + table[row, 3] * fraction


# error_model="numpy": no zero checks on the divisions (their denominators are >= 0.001).
@numba.njit(fastmath=True, parallel=True, cache=True, nogil=True, error_model="numpy")
def _epoch(
    emb: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    epochs_per_sample: np.ndarray,
    epochs_per_negative_sample: np.ndarray,
    next_sample: np.ndarray,
    next_negative_sample: np.ndarray,
    rng: np.ndarray,
    a: np.float32,
    b: np.float32,
    gamma: np.float32,
    alpha: np.float32,
    epoch: int,
    table: np.ndarray,
) -> None:
    """One epoch over the edges (hogwild across threads, as in umap-learn)."""
    n_vertices = np.uint64(emb.shape[0])
    dim = emb.shape[1]
    three = dim == 3
    attract = np.float32(-2.0) * a * b
    repel = np.float32(2.0) * gamma * b
    now = np.float32(epoch)
    zero, one, clip = np.float32(0.0), np.float32(1.0), np.float32(4.0)
    for i in numba.prange(epochs_per_sample.shape[0]):
        if next_sample[i] > now:
            continue
        j, k = head[i], tail[i]
        # Attractive step along the edge: both ends move.
        x0, x1 = emb[j, 0], emb[j, 1]
        x2 = emb[j, 2] if three else zero
        d0, d1 = x0 - emb[k, 0], x1 - emb[k, 1]
        d2 = x2 - emb[k, 2] if three else zero
        dist = d0 * d0 + d1 * d1 + d2 * d2
        coeff = zero
        if dist > zero:
            power, power_less_one = _powers(dist, table)
            coeff = attract * power_less_one / (a * power + one)
        g0 = min(max(coeff * d0, -clip), clip) * alpha
        g1 = min(max(coeff * d1, -clip), clip) * alpha
        g2 = min(max(coeff * d2, -clip), clip) * alpha
        x0, x1, x2 = x0 + g0, x1 + g1, x2 + g2
        emb[k, 0] -= g0
        emb[k, 1] -= g1
        if three:
            emb[k, 2] -= g2
        next_sample[i] += epochs_per_sample[i]
        # Repulsive steps from random points, all measured from the same position.
        n_neg = int((now - next_negative_sample[i]) / epochs_per_negative_sample[i])
        s0, s1, s2 = rng[j, 0], rng[j, 1], rng[j, 2]
        r0, r1, r2 = zero, zero, zero
        for _ in range(n_neg):
            # umap-learn's tau_rand_int (Tausworthe generator), per head vertex.
            s0 = (((s0 & 4294967294) << 12) & 0xFFFFFFFF) ^ ((((s0 << 13) & 0xFFFFFFFF) ^ s0) >> 19)
            s1 = (((s1 & 4294967288) << 4) & 0xFFFFFFFF) ^ ((((s1 << 2) & 0xFFFFFFFF) ^ s1) >> 25)
            s2 = (((s2 & 4294967280) << 17) & 0xFFFFFFFF) ^ ((((s2 << 3) & 0xFFFFFFFF) ^ s2) >> 11)
            # A 32-bit draw scaled to [0, n): a multiply, not a division.
            other = np.intp((np.uint64((s0 ^ s1 ^ s2) & 0xFFFFFFFF) * n_vertices) >> np.uint64(32))
            if other == j:
                continue
            d0, d1 = x0 - emb[other, 0], x1 - emb[other, 1]
            d2 = x2 - emb[other, 2] if three else zero
            dist = d0 * d0 + d1 * d1 + d2 * d2
            if dist > zero:
                coeff = repel / ((np.float32(0.001) + dist) * (a * _powers(dist, table)[0] + one))
                r0 += min(max(coeff * d0, -clip), clip)
                r1 += min(max(coeff * d1, -clip), clip)
                r2 += min(max(coeff * d2, -clip), clip)
        # Added, not stored: another thread may have moved this point meanwhile.
        emb[j, 0] += g0 + r0 * alpha
        emb[j, 1] += g1 + r1 * alpha
        if three:
            emb[j, 2] += g2 + r2 * alpha
        rng[j, 0], rng[j, 1], rng[j, 2] = s0, s1, s2
        next_negative_sample[i] += n_neg * epochs_per_negative_sample[i]


@numba.njit(fastmath=True, parallel=True, cache=True, nogil=True, error_model="numpy")
def _place_epoch(
    emb: np.ndarray,
    fixed: np.ndarray,
    starts: np.ndarray,
    tail: np.ndarray,
    epochs_per_sample: np.ndarray,
    epochs_per_negative_sample: np.ndarray,
    next_sample: np.ndarray,
    next_negative_sample: np.ndarray,
    rng: np.ndarray,
    a: np.float32,
    b: np.float32,
    gamma: np.float32,
    alpha: np.float32,
    epoch: int,
    table: np.ndarray,
) -> None:
    """One epoch of placing new points (``emb``) among fitted ones (``fixed``, which do not
    move): the edges of new point ``j`` are ``starts[j]:starts[j + 1]``. Only a new point
    moves, and only from its own edges, so the points are split over threads with no race:
    the result does not depend on the threads."""
    n_vertices = np.uint64(fixed.shape[0])
    three = emb.shape[1] == 3
    attract = np.float32(-2.0) * a * b
    repel = np.float32(2.0) * gamma * b
    now = np.float32(epoch)
    zero, one, clip = np.float32(0.0), np.float32(1.0), np.float32(4.0)
    for j in numba.prange(emb.shape[0]):
        x0, x1 = emb[j, 0], emb[j, 1]
        x2 = emb[j, 2] if three else zero
        s0, s1, s2 = rng[j, 0], rng[j, 1], rng[j, 2]
        for i in range(starts[j], starts[j + 1]):
            if next_sample[i] > now:
                continue
            k = tail[i]
            d0, d1 = x0 - fixed[k, 0], x1 - fixed[k, 1]
            d2 = x2 - fixed[k, 2] if three else zero
            dist = d0 * d0 + d1 * d1 + d2 * d2
            coeff = zero
            if dist > zero:
                power, power_less_one = _powers(dist, table)
                coeff = attract * power_less_one / (a * power + one)
            x0 += min(max(coeff * d0, -clip), clip) * alpha
            x1 += min(max(coeff * d1, -clip), clip) * alpha
            x2 += min(max(coeff * d2, -clip), clip) * alpha
            next_sample[i] += epochs_per_sample[i]
            n_neg = int((now - next_negative_sample[i]) / epochs_per_negative_sample[i])
            r0, r1, r2 = zero, zero, zero
            for _ in range(n_neg):
                s0 = (((s0 & 4294967294) << 12) & 0xFFFFFFFF) ^ (
                    (((s0 << 13) & 0xFFFFFFFF) ^ s0) >> 19
                )
                s1 = (((s1 & 4294967288) << 4) & 0xFFFFFFFF) ^ (
                    (((s1 << 2) & 0xFFFFFFFF) ^ s1) >> 25
                )
                s2 = (((s2 & 4294967280) << 17) & 0xFFFFFFFF) ^ (
                    (((s2 << 3) & 0xFFFFFFFF) ^ s2) >> 11
                )
                other = np.intp(
                    (np.uint64((s0 ^ s1 ^ s2) & 0xFFFFFFFF) * n_vertices) >> np.uint64(32)
                )
                d0, d1 = x0 - fixed[other, 0], x1 - fixed[other, 1]
                d2 = x2 - fixed[other, 2] if three else zero
                dist = d0 * d0 + d1 * d1 + d2 * d2
                if dist > zero:
                    coeff = repel / (
                        (np.float32(0.001) + dist) * (a * _powers(dist, table)[0] + one)
                    )
                    r0 += min(max(coeff * d0, -clip), clip)
                    r1 += min(max(coeff * d1, -clip), clip)
                    r2 += min(max(coeff * d2, -clip), clip)
            x0, x1, x2 = x0 + r0 * alpha, x1 + r1 * alpha, x2 + r2 * alpha
            next_negative_sample[i] += n_neg * epochs_per_negative_sample[i]
        emb[j, 0], emb[j, 1] = x0, x1
        if three:
            emb[j, 2] = x2
        rng[j, 0], rng[j, 1], rng[j, 2] = s0, s1, s2


def optimize_layout_euclidean(
    head_embedding: np.ndarray,
    tail_embedding: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    n_epochs: int | list[int],
    n_vertices: int,
    epochs_per_sample: np.ndarray,
    a: float,
    b: float,
    rng_state: np.ndarray,
    gamma: float = 1.0,
    initial_alpha: float = 1.0,
    negative_sample_rate: float = 5.0,
    parallel: bool = False,
    verbose: bool = False,
    densmap: bool = False,
    densmap_kwds: dict[str, Any] | None = None,
    tqdm_kwds: dict[str, Any] | None = None,
    move_other: bool = False,
) -> np.ndarray:
    """umap-learn's ``optimize_layout_euclidean``, with its signature and result.

    When :func:`faster_layout` is active in this thread (2 or 3 dims, no densMAP, one epoch
    count), runs :func:`_epoch` for a fit's own layout (both ends moving, unseeded so
    parallel), and :func:`_place_epoch` for ``transform`` placing new points among fitted
    ones (by new point: parallel, and the same result whatever the threads, seeded or not).
    Anything else goes to umap-learn's function unchanged, so a seeded fit stays exactly
    reproducible.
    """
    suits = (
        _PATCH.active()
        and not densmap
        and isinstance(n_epochs, (int, np.integer))
        and head_embedding.shape[1] in (2, 3)
        and head_embedding.dtype == np.float32
        and head_embedding.flags.c_contiguous
    )
    # umap-learn runs seeded fits sequentially to repeat them exactly: ours only unseeded.
    ours = suits and parallel and head_embedding is tail_embedding and move_other
    # Placing new rows (`transform`): only they move, so ours repeats exactly, seeded or not.
    placing = (
        suits
        and not move_other
        and head_embedding is not tail_embedding
        and tail_embedding.shape[1] == head_embedding.shape[1]
    )
    arguments = (
        head_embedding,
        tail_embedding,
        head,
        tail,
        n_epochs,
        n_vertices,
        epochs_per_sample,
        a,
        b,
        rng_state,
        gamma,
        initial_alpha,
        negative_sample_rate,
    )
    options = {
        "parallel": parallel,
        "verbose": verbose,
        "densmap": densmap,
        "densmap_kwds": densmap_kwds,
        "tqdm_kwds": tqdm_kwds,
        "move_other": move_other,
    }
    assert _PATCH.original is not None
    if not (ours or placing):
        return _PATCH.original(*arguments, **options)
    initial = head_embedding.copy()
    try:
        if placing:
            return _place(
                head_embedding,
                np.ascontiguousarray(tail_embedding, dtype=np.float32),
                head,
                tail,
                int(n_epochs),
                epochs_per_sample,
                a,
                b,
                rng_state,
                gamma,
                initial_alpha,
                negative_sample_rate,
            )
        return _optimize(
            head_embedding,
            head,
            tail,
            int(n_epochs),
            epochs_per_sample,
            a,
            b,
            rng_state,
            gamma,
            initial_alpha,
            negative_sample_rate,
            _PATCH.get("progress"),
        )
    except Stopped as stop:  # the progress callback stopped the fit: no retry
        raise stop.error from None
    except Exception as exc:  # ours broke: umap-learn's loop from the same start
        original = _PATCH.fallback(exc)
        head_embedding[:] = initial
        return original(*arguments, **options)


def _optimize(
    emb: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    n_epochs: int,
    epochs_per_sample: np.ndarray,
    a: float,
    b: float,
    rng_state: np.ndarray,
    gamma: float,
    initial_alpha: float,
    negative_sample_rate: float,
    progress: EpochProgress | None,
) -> np.ndarray:
    per_sample = epochs_per_sample.astype(np.float32)
    per_negative = (epochs_per_sample / negative_sample_rate).astype(np.float32)
    next_sample, next_negative = per_sample.copy(), per_negative.copy()
    rng = _vertex_rng(emb, rng_state)
    head, tail = head.astype(np.intp, copy=False), tail.astype(np.intp, copy=False)
    f32 = np.float32
    table = power_table(float(b))
    for epoch in range(n_epochs):
        # umap-learn's schedule: epochs 0 and 1 at the initial rate, then a linear decay.
        alpha = initial_alpha * (1.0 - max(epoch - 1, 0) / n_epochs)
        _epoch(
            emb,
            head,
            tail,
            per_sample,
            per_negative,
            next_sample,
            next_negative,
            rng,
            f32(a),
            f32(b),
            f32(gamma),
            f32(alpha),
            epoch,
            table,
        )
        if progress is not None and (epoch + 1) % REPORT_EVERY == 0:
            try:
                progress(epoch + 1, n_epochs)
            except BaseException as exc:  # carried past the fallback to umap-learn's loop
                raise Stopped(exc) from exc
    return emb


def _vertex_rng(emb: np.ndarray, rng_state: np.ndarray) -> np.ndarray:
    """Each moving vertex's generator state: umap-learn seeds it from the shared state and
    the vertex's first coordinate."""
    seeds = emb[:, 0].astype(np.float64).view(np.int64).reshape(-1, 1)
    return (np.asarray(rng_state, dtype=np.int64).reshape(1, -1) + seeds) & 0xFFFFFFFF


def _place(
    emb: np.ndarray,
    fixed: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    n_epochs: int,
    epochs_per_sample: np.ndarray,
    a: float,
    b: float,
    rng_state: np.ndarray,
    gamma: float,
    initial_alpha: float,
    negative_sample_rate: float,
) -> np.ndarray:
    """umap-learn's placing of new points (``emb``) among fitted ones, by new point."""
    order = np.argsort(head, kind="stable")  # each new point's edges together, in order
    head, tail = head[order], tail[order].astype(np.intp)
    per_sample = epochs_per_sample[order].astype(np.float32)
    per_negative = (epochs_per_sample[order] / negative_sample_rate).astype(np.float32)
    next_sample, next_negative = per_sample.copy(), per_negative.copy()
    starts = np.searchsorted(head, np.arange(emb.shape[0] + 1)).astype(np.intp)
    rng = _vertex_rng(emb, rng_state)
    table = power_table(float(b))
    f32 = np.float32
    for epoch in range(n_epochs):
        alpha = initial_alpha * (1.0 - max(epoch - 1, 0) / n_epochs)
        _place_epoch(
            emb,
            fixed,
            starts,
            tail,
            per_sample,
            per_negative,
            next_sample,
            next_negative,
            rng,
            f32(a),
            f32(b),
            f32(gamma),
            f32(alpha),
            epoch,
            table,
        )
    return emb


#: umap-learn 0.5's parameters of ``optimize_layout_euclidean``, which ours takes.
EXPECTED_PARAMETERS = (
    "head_embedding",
    "tail_embedding",
    "head",
    "tail",
    "n_epochs",
    "n_vertices",
    "epochs_per_sample",
    "a",
    "b",
    "rng_state",
    "gamma",
    "initial_alpha",
    "negative_sample_rate",
    "parallel",
    "verbose",
    "densmap",
    "densmap_kwds",
    "tqdm_kwds",
    "move_other",
)
_PATCH = GuardedPatch(
    "umap.umap_",
    "optimize_layout_euclidean",
    optimize_layout_euclidean,
    EXPECTED_PARAMETERS,
    "umap-learn",
)


@contextlib.contextmanager
def faster_layout(progress: EpochProgress | None = None) -> Iterator[bool]:
    """Within this block, umap-learn fits in this thread use the faster layout loop (yields
    whether it is installed: False with a umap-learn it was not written for).

    Parameters
    ----------
    progress
        Called as ``progress(epochs_done, n_epochs)`` every :data:`REPORT_EVERY` epochs; it
        may raise to stop the fit (a cancelled job, a time limit).
    """
    with _PATCH.enabled(progress=progress) as installed:
        yield installed
