"""Metrics behaviour that mutation testing (benchmarks/mutation.py) found unguarded: distances first.

Expected values come from torch.cdist / cosine_similarity in float64 or from hand-made cases, never from
a run of the code under test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

import finereid
from finereid.errors import ConfigError
from finereid.metrics import compute_distmat


def _cosine_reference(query: torch.Tensor, gallery: torch.Tensor) -> torch.Tensor:
    q, g = query.double(), gallery.double()
    return 1 - torch.nn.functional.cosine_similarity(q[:, None, :], g[None, :, :], dim=2)


def test_norms_cover_every_row_when_the_rows_need_several_blocks():
    # squared norms are summed in blocks of 2**22 // dim rows: 2048 rows at dim 2048, so 2100 rows need two
    gen = torch.Generator().manual_seed(0)
    query, gallery = torch.randn(2100, 2048, generator=gen), torch.randn(3, 2048, generator=gen)
    got = compute_distmat(query, gallery)
    torch.testing.assert_close(
        got.double(), torch.cdist(query.double(), gallery.double()), atol=2e-3, rtol=1e-5
    )


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
@pytest.mark.parametrize("chunk_size", [1, 2, 4])
def test_chunked_matrix_equals_an_independent_reference(distance, chunk_size):
    gen = torch.Generator().manual_seed(1)
    query, gallery = torch.randn(7, 8, generator=gen), torch.randn(5, 8, generator=gen)
    reference = torch.cdist(query.double(), gallery.double())
    if distance == "cosine":
        reference = _cosine_reference(query, gallery)
    got = compute_distmat(query, gallery, distance=distance, chunk_size=chunk_size)
    torch.testing.assert_close(got.double(), reference, atol=1e-5, rtol=1e-5)


def test_two_half_precision_inputs_are_measured_in_float32():
    gen = torch.Generator().manual_seed(2)
    query, gallery = torch.randn(4, 16, generator=gen).half(), torch.randn(6, 16, generator=gen).half()
    got = compute_distmat(query, gallery)
    assert got.dtype == torch.float32
    torch.testing.assert_close(
        got.double(), torch.cdist(query.double(), gallery.double()), atol=1e-4, rtol=1e-4
    )


def test_cosine_distances_stay_inside_0_and_2_despite_rounding():
    # g holds positive and negative multiples of each query: 1 - cos is 0 or 2 up to float32 rounding
    gen = torch.Generator().manual_seed(3)
    query = torch.randn(300, 64, generator=gen)
    gallery = torch.cat([query * 3.7, -query * 0.3])
    got = compute_distmat(query, gallery, distance="cosine")
    assert float(got.min()) >= 0.0 and float(got.max()) <= 2.0
    rows = torch.arange(300)
    assert float(got[rows, rows].max()) < 1e-5 and float(got[rows, rows + 300].min()) > 2 - 1e-5


def test_metric_keyword_still_selects_the_distance_with_a_future_warning_at_the_caller():
    gen = torch.Generator().manual_seed(4)
    query, gallery = torch.randn(3, 5, generator=gen), torch.randn(4, 5, generator=gen)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = compute_distmat(query, gallery, metric="cosine")
    assert len(caught) == 1 and caught[0].category is FutureWarning
    assert "the metric= keyword is renamed distance=" in str(caught[0].message)
    # stacklevel points at the caller, not into finereid (mutmut's trampolines add frames: no equality)
    assert not Path(caught[0].filename).resolve().is_relative_to(Path(finereid.__file__).resolve().parent)
    torch.testing.assert_close(got.double(), _cosine_reference(query, gallery), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    ("query", "gallery", "kwargs", "message"),
    [
        (torch.randn(4), torch.randn(5, 4), {}, "query_feats must be a 2-D matrix"),
        (torch.randn(3, 4), torch.randn(5), {}, "gallery_feats must be a 2-D matrix"),
        (torch.randn(0, 4), torch.randn(5, 4), {}, "^query_feats is empty; need at least one query feature$"),
        (
            torch.randn(3, 4),
            torch.randn(0, 4),
            {},
            "^gallery_feats is empty; need at least one gallery feature$",
        ),
        (
            torch.randn(3, 4),
            torch.randn(5, 4, device="meta"),
            {},
            "query_feats is on cpu but gallery_feats is on meta",
        ),
        (torch.randn(3, 4), torch.randn(5, 4), {"distance": "manhattan"}, "manhattan"),
        (
            torch.tensor([[float("nan"), 1.0]]),
            torch.randn(5, 2),
            {"distance": "cosine"},
            "^query_feats contains NaN",
        ),
        (
            torch.randn(3, 2),
            torch.tensor([[1.0, float("inf")]]),
            {"distance": "cosine"},
            "^gallery_feats contains NaN",
        ),
    ],
)
def test_error_messages_name_the_bad_argument(query, gallery, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        compute_distmat(query, gallery, **kwargs)
