"""`flip` on its own (not only with re-ranking): the embedding is the mean of the image's and its mirror's."""

from __future__ import annotations

import pytest
import torch

from finereid.data import build_dataset, build_test_loader
from finereid.evaluation import evaluate_model, load_model, rank_features


def _by_hand(loaded, records, flip: bool) -> torch.Tensor:
    """Embeddings computed here, from the same test transform, with torch.flip on the width axis."""
    loader = build_test_loader(records, loaded.height, loaded.width, batch_size=64, num_workers=0)
    with torch.no_grad():
        images = torch.cat([b["images"] for b in loader])
        feats = loaded.model(images)
        return (feats + loaded.model(torch.flip(images, dims=[3]))) / 2 if flip else feats


def test_flip_averages_each_embedding_with_its_mirror(checkpoint, market_root, one_torch_thread):
    loaded = load_model(checkpoint)
    dataset = build_dataset("market1501", str(market_root))
    flipped = evaluate_model(loaded, dataset, flip=True, num_workers=0, distance="euclidean")
    plain = evaluate_model(loaded, dataset, flip=False, num_workers=0, distance="euclidean")
    q, g = _by_hand(loaded, dataset.query, True), _by_hand(loaded, dataset.gallery, True)
    expected = rank_features(dataset.query, dataset.gallery, q, g, distance="euclidean").metrics
    for key in ("mAP", "rank1", "mINP"):
        assert flipped.metrics[key] == pytest.approx(expected[key], abs=1e-9), key
    assert flipped.metrics["flip"] and not plain.metrics["flip"]
    mirrored = _by_hand(loaded, dataset.gallery, False) - g
    assert mirrored.abs().max() > 1e-3  # the mirror changes the embeddings: the check above can fail
    assert (flipped.ranking.distances != plain.ranking.distances).any()
    position = {r.path: i for i, r in enumerate(dataset.gallery)}
    ranking = flipped.ranking
    for i in range(len(dataset.query)):  # every listed distance is the distance of the averaged features
        shown = ranking.indices[i][ranking.indices[i] >= 0]
        cols = [position[str(ranking.gallery_paths[j])] for j in shown]
        expected_dist = torch.cdist(q[i : i + 1], g[cols]).squeeze(0)
        torch.testing.assert_close(torch.from_numpy(ranking.distances[i][: len(cols)]), expected_dist,
                                   rtol=1e-4, atol=1e-4)  # fmt: skip
