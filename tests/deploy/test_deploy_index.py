"""Gallery indexes (faiss IVF-PQ, HNSW, flat): recall against exact search, the safe file, one-line errors."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

from finereid.cli import main
from finereid.deploy import (
    FeatureSet,
    SameCameraJunk,
    build_index,
    faiss_available,
    load_features,
    load_index,
    save_features,
    search_torch,
)
from finereid.errors import ConfigError, FinereidError

pytestmark = pytest.mark.skipif(not faiss_available(), reason="faiss not installed (optional extra)")
META = {"model": "bot_resnet18", "checkpoint": "runs/a/best.ckpt", "distance": "euclidean"}


def clustered(num: int, dim: int = 32, num_ids: int = 50, seed: int = 0, noise: float = 0.6):
    """Features of identities (centre + noise), their ids and cameras: like a model's output."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(100).normal(size=(num_ids, dim))
    pids = rng.integers(0, num_ids, num)
    feats = centres[pids] + noise * rng.normal(size=(num, dim))
    return feats.astype(np.float32), pids, rng.integers(0, 4, num)


def recall(found: np.ndarray, exact: np.ndarray) -> tuple[float, float]:
    """(share of queries whose exact nearest neighbour is first, is within the top k)."""
    hits = found == exact[:, :1]
    return float(hits[:, 0].mean()), float(hits.any(axis=1).mean())


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_flat_index_is_exact_search(distance):
    gallery, *_ = clustered(800)
    query, *_ = clustered(60, seed=1)
    got = build_index(gallery, "flat", distance).search(query, 10)
    exact = search_torch(query, gallery, 10, distance)
    np.testing.assert_array_equal(got.indices, exact.indices)
    np.testing.assert_allclose(got.distances, exact.distances, atol=1e-4)
    assert (got.distance, got.backend) == (distance, "flat")


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize(
    ("kind", "settings"),
    [
        ("hnsw", {}),
        ("ivfpq", {"nlist": 16, "nprobe": 16}),  # 4-bit fast-scan codes, 16 x 2 dimensions
        ("ivfpq", {"nlist": 16, "pq_m": 16, "pq_bits": 8, "nprobe": 16}),
    ],
)
def test_approximate_indexes_find_the_exact_neighbours(kind, settings, distance):
    gallery, *_ = clustered(3000, num_ids=300)  # 10 images an identity, as in a ReID gallery
    query, *_ = clustered(100, num_ids=300, seed=1)
    index = build_index(gallery, kind, distance, **settings)
    exact = search_torch(query, gallery, 10, distance).indices
    found = index.search(query, 10)
    at1, at10 = recall(found.indices, exact)
    assert at10 >= 0.9 and at1 >= 0.3, (at1, at10)
    assert np.all(np.diff(found.distances, axis=1) >= 0)  # each list sorted by distance
    if kind == "ivfpq":  # fewer lists probed: worse recall, a real trade-off and not a fixed result
        one_list = index.search(query, 10, nprobe=1)
        assert recall(one_list.indices, exact)[1] < at10


def test_ivfpq_file_is_compressed(tmp_path):
    gallery, *_ = clustered(4000, dim=64)
    flat = build_index(gallery, "flat").save(tmp_path / "flat.index")
    ivfpq = build_index(gallery, "ivfpq", nlist=16, pq_m=8).save(tmp_path / "ivfpq.index")
    assert ivfpq.stat().st_size * 8 < flat.stat().st_size  # 4 + 8 bytes a vector (and codebooks) against 256
    assert load_index(ivfpq).meta["settings"]["pq_m"] == 8


def test_file_round_trip_keeps_meta_labels_and_results(tmp_path):
    feats, pids, camids = clustered(500)
    splits = np.array(["query"] * 100 + ["gallery"] * 400)
    paths = np.array([f"img/{i:04d}.jpg" for i in range(500)])
    index = build_index(FeatureSet(feats, paths, pids, camids, splits, dict(META)), "hnsw")
    assert index.size == 400 and list(index.paths) == list(paths[100:])  # the gallery rows only
    path = index.save(tmp_path / "g.index")
    loaded = load_index(path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        meta = json.loads(archive.read("meta.json"))
    assert names == {"meta.json", "index.faiss", "paths.npy", "pids.npy", "camids.npy"}
    assert meta["model"] == "bot_resnet18" and meta["dimension"] == 32 and meta["size"] == 400
    assert (meta["kind"], meta["distance"], meta["settings"]["hnsw_m"]) == ("hnsw", "euclidean", 32)
    for name, expected in (("paths", paths), ("pids", pids), ("camids", camids)):
        np.testing.assert_array_equal(getattr(loaded, name), expected[100:])
    np.testing.assert_array_equal(loaded.search(feats[:100], 5).indices, index.search(feats[:100], 5).indices)


def test_same_camera_junk_is_excluded_as_by_exact_search():
    gallery, g_pids, g_cams = clustered(600)
    query, q_pids, q_cams = clustered(40, seed=2)
    index = build_index(FeatureSet(gallery, np.arange(600).astype(str), g_pids, g_cams), "flat")
    junk = SameCameraJunk(q_pids, q_cams, g_pids, g_cams)
    got = index.search(query, 8, junk=junk)
    exact = search_torch(query, gallery, 8, junk=junk)
    np.testing.assert_array_equal(got.indices, exact.indices)
    bad = (g_pids[got.indices] == q_pids[:, None]) & (g_cams[got.indices] == q_cams[:, None])
    assert not bad.any()


def _zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, good: None, "index file not found"),
        (lambda p, good: p.write_text("just text"), "cannot read index file"),
        (lambda p, good: p.write_bytes(good.read_bytes()[:300]), "cannot read index file"),
        (lambda p, good: _zip(p, {"weights.bin": b"x"}), "is not a finereid index file"),
        (lambda p, good: _zip(p, {"meta.json": "[1]", "index.faiss": b""}), "unknown index format None"),
        (
            lambda p, good: _zip(p, {"meta.json": json.dumps({"format": "other/2"}), "index.faiss": b""}),
            "unknown index format 'other/2'",
        ),
        (
            lambda p, good: _zip(p, {**_members(good), "index.faiss": b"garbage" * 20}),
            "cannot read index file",
        ),
        (
            lambda p, good: _zip(p, {**_members(good), "meta.json": _meta(good, size=3)}),
            "is inconsistent",
        ),
    ],
)
def test_bad_index_files_are_one_line_errors(tmp_path, make, message):
    gallery, *_ = clustered(50)
    good = build_index(FeatureSet(gallery, np.arange(50).astype(str)), "flat").save(tmp_path / "good.index")
    bad = tmp_path / "bad.index"
    make(bad, good)
    with pytest.raises(FinereidError) as info:
        load_index(bad)
    assert message in str(info.value) and "\n" not in str(info.value)


def _members(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _meta(path, **changes) -> str:
    return json.dumps({**json.loads(_members(path)["meta.json"]), **changes})


def test_queries_of_another_width_or_model_are_one_line_errors():
    gallery, *_ = clustered(100)
    index = build_index(gallery, "flat", meta=dict(META))
    for call, error, message in [
        (lambda: index.check_query({"model": "bot_resnet18"}, 16), FinereidError, "have 16 dimensions"),
        (
            lambda: index.check_query({"model": "bot_resnet50"}, 32),
            ConfigError,
            "come from bot_resnet50 but the index was built from bot_resnet18 features",
        ),
        (lambda: index.search(gallery[:3, :16], 5), FinereidError, "the index holds 32-dimensional"),
        (lambda: index.search(gallery[:3], 0), ConfigError, "top_k must be >= 1"),
        (lambda: index.search(gallery[:3] * np.nan, 5), FinereidError, "NaN or infinite"),
    ]:
        with pytest.raises(error) as info:
            call()
        assert message in str(info.value) and "\n" not in str(info.value)
    index.check_query({"model": "bot_resnet18"}, 32)  # the same model and width pass


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("lsh", {}, "unknown index kind 'lsh'; valid: flat, hnsw, ivfpq"),
        ("hnsw", {"nlist": 8}, "hnsw index has no setting 'nlist'"),
        ("ivfpq", {"pq_m": 5}, "pq_m=5 must divide the feature width 32"),
        ("ivfpq", {"nlist": 0}, "nlist must be a positive integer"),
        (
            "ivfpq",
            {"pq_bits": 8},
            "needs at least 256 gallery vectors to train, got 100; use --kind flat or hnsw",
        ),
        ("ivfpq", {"pq_bits": 5}, "pq_bits must be 4 (fast scan) or 8, got 5"),
        ("ivfpq", {"pq_m": 1}, "pq_m=1 must be even with 4-bit codes"),
        ("flat", {"distance": "manhattan"}, "unknown distance 'manhattan'"),
    ],
)
def test_bad_settings_are_one_line_errors(kind, settings, message):
    gallery, *_ = clustered(100)
    with pytest.raises(ConfigError) as info:
        build_index(gallery, kind, **settings)
    assert message in str(info.value) and "\n" not in str(info.value)


def _json_rows(path) -> list:
    return [
        [(r["path"], r["distance"]) for r in q["results"]] for q in json.loads(path.read_text())["queries"]
    ]


def _without_distances(table: str) -> str:
    """A search table with its distance column blanked (the two searches agree to float32 rounding)."""
    return re.sub(r" \d+\.\d{4} ", " ", table)


def test_index_commands_build_describe_and_search_like_exact_search(market_feats_file, tmp_path, capsys):
    index = tmp_path / "gallery.index"
    assert (
        main(["index", "build", "--gallery", str(market_feats_file), "--out", str(index), "--kind", "flat"])
        == 0
    )
    assert "indexed 14 features (D=512, bot_resnet18" in capsys.readouterr().out
    assert main(["index", "info", str(index)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["model"], info["dimension"], info["size"], info["kind"]) == ("bot_resnet18", 512, 14, "flat")
    common = [
        "search",
        "--query",
        str(market_feats_file),
        "--no-html",
        "--exclude-same-camera",
        "--top-k",
        "6",
    ]
    assert main([*common, "--index", str(index), "--json", str(tmp_path / "index.json")]) == 0
    out = capsys.readouterr().out
    assert main([*common, "--gallery", str(market_feats_file), "--backend", "torch",
                 "--json", str(tmp_path / "exact.json")]) == 0  # fmt: skip
    assert _without_distances(out) == _without_distances(capsys.readouterr().out)  # the same table
    got, exact = _json_rows(tmp_path / "index.json"), _json_rows(tmp_path / "exact.json")
    assert [[p for p, _ in q] for q in got] == [[p for p, _ in q] for q in exact]
    np.testing.assert_allclose(
        [[d for _, d in q] for q in got], [[d for _, d in q] for q in exact], atol=1e-4
    )


def test_ivfpq_command_settings_reach_the_index(tmp_path, capsys):
    feats, *_ = clustered(1200, dim=64)
    paths = np.array([f"g/{i}.jpg" for i in range(1200)])
    save_features(tmp_path / "g.npz", FeatureSet(feats, paths, meta=dict(META)))
    argv = ["index", "build", "--gallery", str(tmp_path / "g.npz"), "--out", str(tmp_path / "g.index")]
    assert main([*argv, "--nlist", "8", "--pq-m", "16", "--nprobe", "8", "--train-size", "600"]) == 0
    settings = load_index(tmp_path / "g.index").meta["settings"]
    assert {k: settings[k] for k in ("nlist", "pq_m", "nprobe", "train_size")} == {
        "nlist": 8, "pq_m": 16, "nprobe": 8, "train_size": 600
    }  # fmt: skip
    save_features(tmp_path / "q.npz", FeatureSet(feats[:20], paths[:20], meta=dict(META)))
    capsys.readouterr()
    code = main(["search", "--query", str(tmp_path / "q.npz"), "--index", str(tmp_path / "g.index"),
                 "--no-html", "--top-k", "3", "--nprobe", "2"])  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 20 * 4  # a query line and 3 results each
    firsts = [(lines[4 * i].split()[-1], lines[4 * i + 1].split()[-1]) for i in range(20)]
    assert sum(query == first for query, first in firsts) >= 18  # each query is in the gallery


def test_search_with_an_index_refuses_other_models_widths_distances_and_bad_files(
    market_feats_file, tmp_path, capsys
):
    index = tmp_path / "gallery.index"
    assert (
        main(["index", "build", "--gallery", str(market_feats_file), "--out", str(index), "--kind", "flat"])
        == 0
    )
    feats = load_features(market_feats_file)
    other = FeatureSet(feats.features, feats.paths, meta={**feats.meta, "model": "bot_efficientnet_lite0"})
    save_features(tmp_path / "other.npz", other)
    narrow = FeatureSet(feats.features[:, :100], feats.paths, meta=feats.meta)
    save_features(tmp_path / "narrow.npz", narrow)
    (tmp_path / "bad.index").write_text("not an index")
    stored = load_index(index).meta["distance"]
    wrong = "cosine" if stored == "euclidean" else "euclidean"
    feats_query, ours = ["--query", str(market_feats_file)], ["--index", str(index)]
    cases = [
        (["--query", str(tmp_path / "other.npz"), *ours], "come from bot_efficientnet_lite0 but"),
        (["--query", str(tmp_path / "narrow.npz"), *ours], "have 100 dimensions but"),
        ([*feats_query, "--index", str(tmp_path / "bad.index")], "cannot read index file"),
        ([*feats_query, *ours, "--distance", wrong], f"was built for {stored} distances"),
        ([*feats_query, *ours, "--backend", "torch"], "--backend applies"),
        ([*feats_query, *ours, "--nprobe", "0"], "nprobe must be"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        assert main(["search", *argv, "--no-html"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    code = main(["index", "build", "--gallery", str(market_feats_file), "--out", str(tmp_path / "pq.index")])
    err = capsys.readouterr().err
    assert code == 2 and "needs at least 16 gallery vectors to train, got 14" in err and err.count("\n") == 1
