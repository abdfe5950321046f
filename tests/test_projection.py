"""Projection runs and the on-disk coordinate cache."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dashboard.config import TableConfig
from dashboard.data.sources import open_dataset
from dashboard.errors import DataError, PluginError, ReducerError
from dashboard.plugin.manager import build_registry, get_plugin_manager
from dashboard.projection.request import ProjectionRequest
from dashboard.projection.runner import run_projection
from dashboard.projection.store import ProjectionStore
from tests.conftest import blobs, open_table

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def setup(tmp_path):
    return open_table(tmp_path, blobs(90), label="cluster")


def test_second_run_comes_from_the_cache(setup):
    datasets, registry, store = setup
    request = ProjectionRequest("t", "pca", 2, {})
    first = run_projection(request, datasets, registry, store)
    assert first.cached is False
    assert first.n == 90
    assert first.params == {
        "whiten": False,
        "svd_solver": "auto",
        "random_state": 0,
        "fit_rows": 100_000,
    }
    second = run_projection(request, datasets, registry, store)
    assert second.cached is True
    assert second.key == first.key
    coords = store.load(first.key)
    assert coords.shape == (90, 2)
    assert coords.dtype == np.float32


def test_key_depends_on_params_and_dims(setup):
    datasets, registry, store = setup
    base = run_projection(ProjectionRequest("t", "pca", 2, {}), datasets, registry, store)
    whiten = run_projection(
        ProjectionRequest("t", "pca", 2, {"whiten": True}), datasets, registry, store
    )
    three = run_projection(ProjectionRequest("t", "pca", 3, {}), datasets, registry, store)
    assert len({base.key, whiten.key, three.key}) == 3
    assert store.load(three.key).shape == (90, 3)


def test_progress_is_reported(setup):
    datasets, registry, store = setup
    seen = []
    run_projection(
        ProjectionRequest("t", "tsne", 2, {"max_iter": 250}),
        datasets,
        registry,
        store,
        progress=lambda f, m: seen.append((f, m)),
    )
    assert seen[0][0] == 0.0
    assert seen[-1] == (1.0, "t-SNE: done")


def test_unknown_table_reducer_and_param(setup):
    datasets, registry, store = setup
    with pytest.raises(DataError, match=r"unknown table 'x'\nallowed values: 't'"):
        run_projection(ProjectionRequest("x", "pca"), datasets, registry, store)
    with pytest.raises(PluginError, match=r"unknown reducer 'pcb'\nallowed values: 'as_logged'"):
        run_projection(ProjectionRequest("t", "pcb"), datasets, registry, store)
    with pytest.raises(ReducerError, match=r"unknown parameter `whitening`"):
        run_projection(
            ProjectionRequest("t", "pca", 2, {"whitening": 1}), datasets, registry, store
        )


def test_store_refuses_keys_that_are_not_hashes(tmp_path):
    store = ProjectionStore(tmp_path)
    with pytest.raises(ValueError, match=r"invalid projection key '\.\./etc/passwd'"):
        store.path("../etc/passwd")
    assert store.load("0123abcd") is None


def test_store_writes_atomically(tmp_path):
    store = ProjectionStore(tmp_path)
    store.save("abc", np.ones((4, 2)))
    assert [p.name for p in store.root.iterdir()] == ["abc.npy"]
    assert store.load("abc").dtype == np.float32


def test_request_round_trips_through_json():
    request = ProjectionRequest("t", "umap", 3, {"n_neighbors": 5})
    assert ProjectionRequest.from_dict(request.to_dict()) == request


def test_isolated_rows_are_projected_alone(setup):
    datasets, registry, store = setup
    rows = (2, 5, 8, 11, 14, 17, 20)
    full = run_projection(ProjectionRequest("t", "pca", 2, {}), datasets, registry, store)
    isolated = run_projection(
        ProjectionRequest("t", "pca", 2, {}, rows=rows), datasets, registry, store
    )
    assert isolated.isolated == 7
    assert isolated.key != full.key
    coords = store.load(isolated.key)
    assert coords.shape == (90, 2)
    assert np.isfinite(coords[list(rows)]).all()
    assert np.isnan(np.delete(coords, rows, axis=0)).all()
    # The subset's own PCA: same as fitting those rows directly.
    from sklearn.decomposition import PCA

    X = datasets["t"].matrix()[list(rows)]
    expected = PCA(2).fit_transform(X)
    np.testing.assert_allclose(np.abs(coords[list(rows)]), np.abs(expected), atol=1e-4)
    again = run_projection(
        ProjectionRequest("t", "pca", 2, {}, rows=rows[::-1]), datasets, registry, store
    )
    assert again.cached is True  # order does not matter


def test_isolating_bad_rows_is_refused(setup):
    datasets, registry, store = setup
    with pytest.raises(DataError, match=r"cannot isolate rows .*the table has rows 0 to 89"):
        run_projection(ProjectionRequest("t", "pca", rows=(1, 500)), datasets, registry, store)
    with pytest.raises(ReducerError, match=r"umap: needs at least 5 rows, got 2"):
        run_projection(ProjectionRequest("t", "umap", rows=(1, 2)), datasets, registry, store)


def test_pca_first_only_for_wide_tables_and_neighbour_methods(setup, tmp_path):
    datasets, registry, store = setup  # 5 dims
    tsne = run_projection(
        ProjectionRequest("t", "tsne", 2, {"max_iter": 250}),
        datasets,
        registry,
        store,
        pca_dims=3,
    )
    assert tsne.pca_dims == 3
    plain = run_projection(
        ProjectionRequest("t", "tsne", 2, {"max_iter": 250}), datasets, registry, store
    )
    assert plain.pca_dims is None
    assert plain.key != tsne.key
    narrow = run_projection(
        ProjectionRequest("t", "tsne", 2, {"max_iter": 250}),
        datasets,
        registry,
        store,
        pca_dims=50,
    )
    assert narrow.pca_dims is None  # 5 dims is not wider than 50
    assert narrow.key == plain.key
    pca = run_projection(ProjectionRequest("t", "pca"), datasets, registry, store, pca_dims=3)
    assert pca.pca_dims is None  # PCA needs no PCA first


@pytest.mark.slow
def test_pca_first_keeps_tsne_quality_on_digits(digits_path, tmp_path):
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    pm = get_plugin_manager(load_entry_points=False)
    digits = open_dataset(
        "digits",
        TableConfig(path=str(digits_path), embedding="pixels", label="label"),
        scan_hook=pm.hook.dashboard_scan_table,
        cache_dir=tmp_path,
        where="team.yaml",
    )
    store = ProjectionStore(tmp_path)
    result = run_projection(
        ProjectionRequest("digits", "tsne"),
        {"digits": digits},
        build_registry(pm),
        store,
        pca_dims=30,
    )
    assert result.pca_dims == 30
    X, y = digits.matrix(), digits.metadata()["target"].to_numpy()
    Y = store.load(result.key)
    assert trustworthiness(X, Y, n_neighbors=10) >= 0.97  # measured against the raw 64 dims
    assert cross_val_score(KNeighborsClassifier(10), Y, y, cv=5).mean() >= 0.95


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_cache_entry_is_computed_again(setup, damage, caplog):
    """A 0-byte or cut-short file (a full disk, a crash) is a miss, not a map broken on
    every reopen."""
    datasets, registry, store = setup
    request = ProjectionRequest("t", "pca", 2, {})
    first = run_projection(request, datasets, registry, store)
    path = store.path(first.key)
    good = path.read_bytes()
    path.write_bytes(
        {"empty": b"", "truncated": good[:100], "garbage": b"\x93NUMPY" + b"x" * 90}[damage]
    )
    again = run_projection(request, datasets, registry, store)
    assert not again.cached
    assert "unreadable cache entry" in caplog.text
    assert np.array_equal(store.load(again.key), np.load(io.BytesIO(good)))


def test_a_full_disk_fails_the_write_and_keeps_earlier_maps(setup, monkeypatch):
    datasets, registry, store = setup
    kept = run_projection(ProjectionRequest("t", "pca", 2, {}), datasets, registry, store)
    real_save = np.save

    def full(fh, array, **kwargs):
        real_save(fh, array[: len(array) // 2], **kwargs)  # half written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(OSError, match="No space left"):
        run_projection(ProjectionRequest("t", "pca", 3, {}), datasets, registry, store)
    monkeypatch.undo()
    assert sorted(p.name for p in store.root.iterdir()) == [f"{kept.key}.npy"]  # no temp left
    assert run_projection(ProjectionRequest("t", "pca", 2, {}), datasets, registry, store).cached


def test_cache_writes_that_need_not_survive_a_power_cut_skip_the_syncs(tmp_path, monkeypatch):
    """The matrix cache (3 GB at 1M x 768) is written unsynced: it is rebuilt from the table
    when lost, and syncing it stalled the map's own writes. Projections stay synced."""
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    store = ProjectionStore(tmp_path)
    store.save("vectors", np.ones((4, 3)), durable=False)
    assert synced == []
    np.testing.assert_array_equal(store.load("vectors", mmap=True), np.ones((4, 3)))
    store.save("coords", np.ones((4, 2)))
    assert len(synced) == 2  # the file, then its folder
    assert not list(store.root.glob(".*.tmp"))


def test_temp_files_of_killed_writers_are_cleaned(tmp_path):
    """A writer killed with -9 mid-write leaves its temporary file; the next store removes
    it once it is old, and never a live writer's."""
    root = tmp_path / "projections"
    root.mkdir()
    script = (
        "import sys, time\n"
        "from dashboard.files import atomic_write\n"
        "def write(tmp):\n"
        "    tmp.write_bytes(b'x' * 1000)\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        f"atomic_write({str(root / 'k.npy')!r}, write)\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    left = list(root.glob(".*.tmp"))
    assert len(left) == 1
    assert not (root / "k.npy").exists()
    ProjectionStore(tmp_path)  # young: could be a live writer's
    assert left[0].exists()
    old = time.time() - 2 * 3600
    os.utime(left[0], (old, old))
    ProjectionStore(tmp_path)
    assert not left[0].exists()
