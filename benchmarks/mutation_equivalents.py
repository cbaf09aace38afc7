"""Equivalent mutants of benchmarks/mutation.py: changes that compute the same thing; no test can kill them.

EQUIVALENT[module][mutant] = (the mutated line(s) as mutmut wrote them, the reason). The line is checked on
every run: when the source changes and a name points at another mutation, the entry is reported stale.
"""

# ruff: noqa: E501  (each change is kept on one line, exactly as the mutation tool prints it)

from __future__ import annotations

_NORM_BLOCK = (
    "performance only: the row-block size of the squared norms (about 4M entries) bounds a temporary's "
    "memory; any step >= 1 computes the same norms"
)
_TIE_BLOCK = (
    "performance only: the row-block size of the tie count (about 4M entries) bounds memory; any blocks "
    "that cover the tied entries give the same counts"
)
_PATH_CHOICE = (
    "performance only: the threshold between the packed-key search and the full-row sort; both paths give "
    "the same counts (each is tested against a direct count)"
)
_WIDE_BUFFER = (
    "memory only: a float64 sort buffer for float32 distances; the widening is exact, so order and counts "
    "are the same"
)
_RERANK_CHUNK = (
    "performance only: a chunk size of the re-ranking (rows or entries per chunk) bounds memory; any chunks "
    "that cover every row give the same result"
)
_OUTPUT_SIZE = (
    "performance only: repeat_interleave's output_size is a hint that saves a device sync; without it the "
    "result is the same"
)
_NORM_LINE = "step = max(1, (1 << 22) // max(1, feats.shape[1]))"

_GROUP_NAME = (
    "an internal dict key: without datasets the one group's name is read only by the per-dataset error, which "
    "cannot fire for a single group (it would need fewer identities than the P x world_size already required)"
)
_LENGTHS_CHECKED = (
    "strict=True guards an invariant checked two lines above (one dataset per sample, else a ConfigError): "
    "the two sequences always have the same length"
)
_ONE_COUNT_PER_GROUP = (
    "strict=True guards an invariant: `mine` and `_counts(batch)` both have one entry per dataset group"
)
_INT_WEIGHTS = (
    "integer counts: weights / weights.sum() is numpy's true division, which converts the int64 counts to "
    "float64 exactly, so the probabilities are the same to the bit"
)

_FDP_LOSS_METHOD = (
    "GenericPairLoss reads mat_based_loss only to pick self.loss_method, which only its own compute_loss calls; "
    "FDPLoss overrides compute_loss and calls mat_based_loss / _compute_loss itself"
)
_FDP_RECORDED = (
    "is_stat=False is the default of PML's add_to_recordable_attributes, which reads it by truth value (None "
    "is false): margin, beta and sigma are recorded as plain attributes either way"
)
_FDP_PAIRS = (
    "lmu.convert_to_pairs reads labels and ref_labels only when indices_tuple is None (to build all pairs); "
    "compute_loss calls it only with a miner's tuple, which it returns as is (pairs) or as (a, p, a, n)"
)

EQUIVALENT: dict[str, dict[str, tuple[str, str]]] = {
    "fdp": {
        "finereid.losses.fdp.xǁFDPLossǁ__init____mutmut_65": (
            "super().__init__(mat_based_loss=True, distance=distance, **kwargs) → super().__init__(mat_based_loss=None, distance=distance, **kwargs)",
            _FDP_LOSS_METHOD,
        ),
        "finereid.losses.fdp.xǁFDPLossǁ__init____mutmut_70": (
            "super().__init__(mat_based_loss=True, distance=distance, **kwargs) → super().__init__(mat_based_loss=False, distance=distance, **kwargs)",
            _FDP_LOSS_METHOD,
        ),
        "finereid.losses.fdp.xǁFDPLossǁ__init____mutmut_128": (
            'self.add_to_recordable_attributes(list_of_names=["margin", "beta", "sigma"], is_stat=False) → self.add_to_recordable_attributes(list_of_names=["margin", "beta", "sigma"], is_stat=None)',
            _FDP_RECORDED,
        ),
        "finereid.losses.fdp.xǁFDPLossǁ__init____mutmut_130": (
            'self.add_to_recordable_attributes(list_of_names=["margin", "beta", "sigma"], is_stat=False) → self.add_to_recordable_attributes(list_of_names=["margin", "beta", "sigma"], )',
            _FDP_RECORDED,
        ),
        "finereid.losses.fdp.xǁFDPLossǁ_fast_forward__mutmut_25": (
            "valid = pos.any(1) & neg.any(1) → valid = pos.any(1) & neg.any(None)",
            "on the fast path the masks compare the batch's labels with themselves: an anchor has no negative only "
            "when every label equals its own, i.e. when no row has one, so each row's any() is the whole matrix's",
        ),
        "finereid.losses.fdp.xǁFDPLossǁ_fast_forward__mutmut_46": (
            "return torch.where(valid, losses, 0).sum() / valid.sum().clamp_min(1) → return torch.where(valid, losses, 0).sum() / valid.sum().clamp_min(2)",
            "on the fast path valid anchors come in pairs (if i has a positive j and a negative k, j has the "
            "positive i and the same negative k), so the count is 0 or at least 2; at 0 the sum is exactly 0",
        ),
        "finereid.losses.fdp.xǁFDPLossǁ_negative_term__mutmut_11": (
            "lse = lmu.logsumexp(self.beta * (self.margin - dist), keep_mask=neg, add_one=True, dim=1) → lse = lmu.logsumexp(self.beta * (self.margin - dist), keep_mask=neg, dim=1)",
            "add_one=True is the default of PML's lmu.logsumexp(x, keep_mask=None, add_one=True, dim=1)",
        ),
        "finereid.losses.fdp.xǁFDPLossǁ_negative_term__mutmut_12": (
            "lse = lmu.logsumexp(self.beta * (self.margin - dist), keep_mask=neg, add_one=True, dim=1) → lse = lmu.logsumexp(self.beta * (self.margin - dist), keep_mask=neg, add_one=True, )",
            "dim=1 is the default of PML's lmu.logsumexp(x, keep_mask=None, add_one=True, dim=1)",
        ),
        "finereid.losses.fdp.xǁFDPLossǁcompute_loss__mutmut_23": (
            "return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, ref_labels)) → return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, None, ref_labels))",
            _FDP_PAIRS,
        ),
        "finereid.losses.fdp.xǁFDPLossǁcompute_loss__mutmut_24": (
            "return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, ref_labels)) → return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, None))",
            _FDP_PAIRS,
        ),
        "finereid.losses.fdp.xǁFDPLossǁcompute_loss__mutmut_26": (
            "return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, ref_labels)) → return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, ref_labels))",
            _FDP_PAIRS,
        ),
        "finereid.losses.fdp.xǁFDPLossǁcompute_loss__mutmut_27": (
            "return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, ref_labels)) → return self.mat_based_loss(mat, lmu.convert_to_pairs(indices_tuple, labels, ))",
            _FDP_PAIRS,
        ),
    },
    "distance": {
        "finereid.metrics.distance.x__squared_norms__mutmut_6": (
            f"{_NORM_LINE} → step = max(2, (1 << 22) // max(1, feats.shape[1]))",
            _NORM_BLOCK + " (differs only above 4M dimensions: blocks of 2 rows instead of 1)",
        ),
        "finereid.metrics.distance.x__squared_norms__mutmut_8": (
            f"{_NORM_LINE} → step = max(1, (1 >> 22) // max(1, feats.shape[1]))",
            _NORM_BLOCK + " (1 >> 22 is 0: one row per block, slower)",
        ),
        "finereid.metrics.distance.x__squared_norms__mutmut_9": (
            f"{_NORM_LINE} → step = max(1, (2 << 22) // max(1, feats.shape[1]))",
            _NORM_BLOCK + " (blocks twice as large)",
        ),
        "finereid.metrics.distance.x__squared_norms__mutmut_10": (
            f"{_NORM_LINE} → step = max(1, (1 << 23) // max(1, feats.shape[1]))",
            _NORM_BLOCK + " (blocks twice as large)",
        ),
        "finereid.metrics.distance.x__squared_norms__mutmut_15": (
            f"{_NORM_LINE} → step = max(1, (1 << 22) // max(2, feats.shape[1]))",
            _NORM_BLOCK + " (differs only for 1-dimensional features: half-size blocks)",
        ),
    },
    "market": {
        "finereid.metrics.market.x__before__mutmut_5": (
            "return (d_a < d_b) | ((d_a == d_b) & (i_a < i_b)) → return (d_a < d_b) | ((d_a == d_b) & (i_a <= i_b))",
            "junk_before compares a junk sample with a true match: two different gallery samples, never equal indices, so < and <= agree",
        ),
        "finereid.metrics.market.x__equal_before__mutmut_14": (
            "block = max(1, (1 << 22) // dist.shape[1]) → block = max(2, (1 << 22) // dist.shape[1])",
            _TIE_BLOCK,
        ),
        "finereid.metrics.market.x__equal_before__mutmut_16": (
            "block = max(1, (1 << 22) // dist.shape[1]) → block = max(1, (1 >> 22) // dist.shape[1])",
            _TIE_BLOCK,
        ),
        "finereid.metrics.market.x__equal_before__mutmut_17": (
            "block = max(1, (1 << 22) // dist.shape[1]) → block = max(1, (2 << 22) // dist.shape[1])",
            _TIE_BLOCK,
        ),
        "finereid.metrics.market.x__equal_before__mutmut_18": (
            "block = max(1, (1 << 22) // dist.shape[1]) → block = max(1, (1 << 23) // dist.shape[1])",
            _TIE_BLOCK,
        ),
        "finereid.metrics.market.x__equal_before__mutmut_25": (
            "for start in range(0, rows.numel(), block): → for start in range(0, rows.numel(), ):",
            _TIE_BLOCK + " (step 1: overlapping blocks rewrite each count with the same value, slower)",
        ),
        "finereid.metrics.market.x__equal_before__mutmut_27": (
            "stop = start + block → stop = None",
            _TIE_BLOCK + " (stop=None: each block runs to the end; later blocks rewrite the same values)",
        ),
        "finereid.metrics.market.x__orderable__mutmut_10": (
            "bits = bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))  # negative floats: reverse their order → bits = bits ^ ((bits >> 32) & np.int32(0x7FFFFFFF))  # negative floats: reverse their order",
            "NumPy defines an int32 shift by 32 or more as a sign fill (-1 or 0), exactly what >> 31 gives",
        ),
        "finereid.metrics.market.x_market_stats__mutmut_32": (
            'limit = torch.where(true, values, torch.full_like(values, -float("inf"))).amax(dim=1) → limit = torch.where(true, values, torch.full_like(values, -float("INF"))).amax(dim=1)',
            'float("INF") is float("inf"): float() ignores case',
        ),
        "finereid.metrics.market.x_market_stats__mutmut_107": (
            "k = torch.arange(1, rank.shape[1] + 1, device=dist.device, dtype=torch.float64) → k = torch.arange(1, rank.shape[1] + 1, device=dist.device, dtype=None)",
            "k as int64 instead of float64: k / (float64 rank) and k <= count give exactly the same values",
        ),
        "finereid.metrics.market.x_market_stats__mutmut_111": (
            "k = torch.arange(1, rank.shape[1] + 1, device=dist.device, dtype=torch.float64) → k = torch.arange(1, rank.shape[1] + 1, device=dist.device, )",
            "k as int64 instead of float64: k / (float64 rank) and k <= count give exactly the same values",
        ),
        "finereid.metrics.market.x_market_stats__mutmut_119": (
            "precision = k / (rank.to(torch.float64) + 1.0) → precision = k / (rank.to(None) + 1.0)",
            "int64 rank + 1.0 is float32, exact below 2**24 gallery samples; the division is still float64",
        ),
        "finereid.metrics.market.x_market_stats__mutmut_157": (
            "inp = denominator / (last.to(torch.float64) + 1.0) → inp = denominator / (last.to(None) + 1.0)",
            "int64 rank + 1.0 is float32, exact below 2**24 gallery samples; the division is still float64",
        ),
        "finereid.metrics.market.x_market_stats__mutmut_133": (
            "denominator = num_true.clamp(min=1).to(torch.float64) → denominator = num_true.clamp(min=1).to(None)",
            "an int64 count divides and is divided by float64 exactly like its float64 copy",
        ),
        "finereid.metrics.market.xǁGalleryIndexǁ__init____mutmut_18": (
            "self.by_pid = torch.argsort(self.labels, stable=True) → self.by_pid = torch.argsort(self.labels, )",
            "the order of a pid's samples in the padded match list does not matter: each match is ranked on its own, then ranks are sorted",
        ),
        "finereid.metrics.market.xǁGalleryIndexǁ__init____mutmut_19": (
            "self.by_pid = torch.argsort(self.labels, stable=True) → self.by_pid = torch.argsort(self.labels, stable=False)",
            "the order of a pid's samples in the padded match list does not matter: each match is ranked on its own, then ranks are sorted",
        ),
        "finereid.metrics.market.xǁGalleryIndexǁmatches__mutmut_24": (
            "width = max(1, int(count.max()))  # one padding column when no pid matches: shapes stay simple → width = max(2, int(count.max()))  # one padding column when no pid matches: shapes stay simple",
            "one more padding column, masked out (ranked last, zero precision), changes no result",
        ),
        "finereid.metrics.market.xǁRowCounterǁ__call____mutmut_10": (
            "ordered = torch.sort(dist, dim=1).values → ordered = torch.sort(dist, ).values",
            "torch.sort's default dim is the last one: dim 1 of the 2-D distance matrix",
        ),
        "finereid.metrics.market.xǁRowCounterǁ__call____mutmut_24": (
            "if 2 * np.count_nonzero(outside) > array.size: → if 3 * np.count_nonzero(outside) > array.size:",
            _PATH_CHOICE,
        ),
        "finereid.metrics.market.xǁRowCounterǁ__call____mutmut_26": (
            "if 2 * np.count_nonzero(outside) > array.size: → if 2 * np.count_nonzero(outside) >= array.size:",
            _PATH_CHOICE,
        ),
        "finereid.metrics.market.xǁRowCounterǁ__call____mutmut_35": (
            "return self._packed(array, np.flatnonzero(np.logical_not(outside, out=outside)), values) → return self._packed(array, np.flatnonzero(np.logical_not(outside, out=None)), values)",
            "memory only: the negated mask goes to a new array instead of in place; same positions",
        ),
        "finereid.metrics.market.xǁRowCounterǁ__call____mutmut_37": (
            "return self._packed(array, np.flatnonzero(np.logical_not(outside, out=outside)), values) → return self._packed(array, np.flatnonzero(np.logical_not(outside, )), values)",
            "memory only: the negated mask goes to a new array instead of in place; same positions",
        ),
        "finereid.metrics.market.xǁRowCounterǁ__call____mutmut_40": (
            "ordered = self._scratch(array.shape, array.dtype) → ordered = self._scratch(array.shape, None)",
            _WIDE_BUFFER,
        ),
        "finereid.metrics.market.xǁRowCounterǁ_scratch__mutmut_12": (
            "self.buffer = np.empty(size, dtype=dtype) → self.buffer = np.empty(size, dtype=None)",
            _WIDE_BUFFER,
        ),
        "finereid.metrics.market.xǁRowCounterǁ_scratch__mutmut_14": (
            "self.buffer = np.empty(size, dtype=dtype) → self.buffer = np.empty(size, )",
            _WIDE_BUFFER,
        ),
        "finereid.metrics.market.xǁRowCounterǁ_scratch__mutmut_8": (
            "if self.buffer is None or self.buffer.size < size or self.buffer.dtype != dtype: → if self.buffer is None or self.buffer.size <= size or self.buffer.dtype != dtype:",
            "memory only: the buffer is also reallocated when it has exactly the needed size",
        ),
        "finereid.metrics.market.xǁRowCounterǁ_packed__mutmut_22": (
            "targets = (np.arange(array.shape[0], dtype=np.int64)[:, None] << 32) | _orderable(values.numpy()) → targets = (np.arange(array.shape[0], dtype=None)[:, None] << 32) | _orderable(values.numpy())",
            "NumPy's default integer is int64 here (Linux; every 64-bit platform from NumPy 2), so the row << 32 keys are the same; dtype=np.int64 guards Windows with NumPy 1.x, which no test here can run",
        ),
        "finereid.metrics.market.xǁRowCounterǁ_packed__mutmut_24": (
            "targets = (np.arange(array.shape[0], dtype=np.int64)[:, None] << 32) | _orderable(values.numpy()) → targets = (np.arange(array.shape[0], )[:, None] << 32) | _orderable(values.numpy())",
            "NumPy's default integer is int64 here (Linux; every 64-bit platform from NumPy 2), so the row << 32 keys are the same; dtype=np.int64 guards Windows with NumPy 1.x, which no test here can run",
        ),
    },
    "rerank": {
        "finereid.metrics.rerank.x__abs_max__mutmut_6": (
            "step = max(1, _CHUNK // max(1, x.shape[1])) → step = max(2, _CHUNK // max(1, x.shape[1]))",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.x__abs_max__mutmut_12": (
            "step = max(1, _CHUNK // max(1, x.shape[1])) → step = max(1, _CHUNK // max(2, x.shape[1]))",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.x__copy__mutmut_1": (
            "def f(dst: torch.Tensor, src: torch.Tensor, tile: int = 512) -> None: → def f(dst: torch.Tensor, src: torch.Tensor, tile: int = 513) -> None:",
            "performance only: the column tile of the transposed copy; any tiling (tile 513, or overlapping tiles of step 1) copies the same values",
        ),
        "finereid.metrics.rerank.x__copy__mutmut_13": (
            "for a in range(0, src.shape[1], tile): → for a in range(0, src.shape[1], ):",
            "performance only: the column tile of the transposed copy; any tiling (tile 513, or overlapping tiles of step 1) copies the same values",
        ),
        "finereid.metrics.rerank.x__copy__mutmut_2": (
            "if src.stride(-1) == 1: → if src.stride(None) == 1:",
            "performance only: picks the plain or the tiled copy; both copy the same values (stride(None) is a tuple, stride(+1) is stride(-1) for a matrix)",
        ),
        "finereid.metrics.rerank.x__copy__mutmut_3": (
            "if src.stride(-1) == 1: → if src.stride(+1) == 1:",
            "performance only: picks the plain or the tiled copy; both copy the same values (stride(None) is a tuple, stride(+1) is stride(-1) for a matrix)",
        ),
        "finereid.metrics.rerank.x__copy__mutmut_4": (
            "if src.stride(-1) == 1: → if src.stride(-2) == 1:",
            "performance only: picks the plain or the tiled copy; both copy the same values (stride(None) is a tuple, stride(+1) is stride(-1) for a matrix)",
        ),
        "finereid.metrics.rerank.x__copy__mutmut_5": (
            "if src.stride(-1) == 1: → if src.stride(-1) != 1:",
            "performance only: picks the plain or the tiled copy; both copy the same values (stride(None) is a tuple, stride(+1) is stride(-1) for a matrix)",
        ),
        "finereid.metrics.rerank.x__copy__mutmut_6": (
            "if src.stride(-1) == 1: → if src.stride(-1) == 2:",
            "performance only: picks the plain or the tiled copy; both copy the same values (stride(None) is a tuple, stride(+1) is stride(-1) for a matrix)",
        ),
        "finereid.metrics.rerank.x__encode__mutmut_32": (
            "half_rec = torch.cat([_is_reciprocal(half, part) for part in all_rows.split(1 << 16)]) → half_rec = torch.cat([_is_reciprocal(half, part) for part in all_rows.split(2 << 16)])",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.x__encode__mutmut_33": (
            "half_rec = torch.cat([_is_reciprocal(half, part) for part in all_rows.split(1 << 16)]) → half_rec = torch.cat([_is_reciprocal(half, part) for part in all_rows.split(1 << 17)])",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.x__encode__mutmut_40": (
            "for rows in all_rows.split(max(1, _CHUNK // (forward.shape[1] * half.shape[1]))): → for rows in all_rows.split(max(2, _CHUNK // (forward.shape[1] * half.shape[1]))):",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.x__encode__mutmut_91": (
            "size = cand_mask.sum(dim=2).to(torch.float64) → size = cand_mask.sum(dim=2).to(None)",
            "an int64 size times 2/3 is float32; for every size up to 100000 the comparison with an integer count is the same as in float64 (checked), and sizes are at most k1 + 1",
        ),
        "finereid.metrics.rerank.x__encode__mutmut_96": (
            "accept = is_rec & (inside.to(torch.float64) > size * (2.0 / 3.0)) → accept = is_rec & (inside.to(None) > size * (2.0 / 3.0))",
            "an int64 count compared with a float64 threshold is compared exactly, like its float64 copy",
        ),
        "finereid.metrics.rerank.x__expand__mutmut_14": (
            "starts = torch.searchsorted(keys, torch.arange(N + 1, device=keys.device) * N) → starts = torch.searchsorted(keys, torch.arange(N + 2, device=keys.device) * N)",
            "one more row start (N + 1 instead of N) is never indexed: neighbours are < N",
        ),
        "finereid.metrics.rerank.x__overlap__mutmut_23": (
            "order = torch.argsort(g_col, stable=True) → order = torch.argsort(g_col, )",
            "the order of a column's gallery entries does not change any sum: each (query, gallery) pair meets once per shared column, and the additions into a cell follow the query entries' order",
        ),
        "finereid.metrics.rerank.x__overlap__mutmut_24": (
            "order = torch.argsort(g_col, stable=True) → order = torch.argsort(g_col, stable=False)",
            "the order of a column's gallery entries does not change any sum: each (query, gallery) pair meets once per shared column, and the additions into a cell follow the query entries' order",
        ),
        "finereid.metrics.rerank.x__overlap__mutmut_32": (
            "col_count = torch.bincount(g_col, minlength=N) → col_count = torch.bincount(g_col, )",
            "every gallery sample is among its own k1 + 1 nearest (zero self-distance), so column N - 1 is in the gallery part of V and bincount's length is N anyway",
        ),
        "finereid.metrics.rerank.x__overlap__mutmut_72": (
            "source = source.repeat_interleave(count[a:b], output_size=len(position)) → source = source.repeat_interleave(count[a:b], output_size=None)",
            _OUTPUT_SIZE,
        ),
        "finereid.metrics.rerank.x__overlap__mutmut_74": (
            "source = source.repeat_interleave(count[a:b], output_size=len(position)) → source = source.repeat_interleave(count[a:b], )",
            _OUTPUT_SIZE,
        ),
        "finereid.metrics.rerank.x__ranges__mutmut_5": (
            "shift = (starts - (torch.cumsum(counts, 0) - counts)).repeat_interleave(counts, output_size=total) → shift = (starts - (torch.cumsum(counts, 0) - counts)).repeat_interleave(counts, output_size=None)",
            _OUTPUT_SIZE,
        ),
        "finereid.metrics.rerank.x__ranges__mutmut_7": (
            "shift = (starts - (torch.cumsum(counts, 0) - counts)).repeat_interleave(counts, output_size=total) → shift = (starts - (torch.cumsum(counts, 0) - counts)).repeat_interleave(counts, )",
            _OUTPUT_SIZE,
        ),
        "finereid.metrics.rerank.x_re_ranking__mutmut_81": (
            "nearest = blocks.nearest(min(max(k1 + 1, k2), N)) → nearest = blocks.nearest(min(max(k1 + 2, k2), N))",
            "one more nearest neighbour is found than used: the encoding slices the first k1 + 1 and k2 columns",
        ),
        "finereid.metrics.rerank.x_re_ranking__mutmut_118": (
            "step = max(1, _CHUNK // G) → step = max(2, _CHUNK // G)",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.xǁ_Blocksǁnearest__mutmut_6": (
            "step = max(1, _CHUNK // self.N) → step = max(2, _CHUNK // self.N)",
            _RERANK_CHUNK,
        ),
        "finereid.metrics.rerank.xǁ_Blocksǁnearest__mutmut_73": (
            "torch.topk(chunk, k, dim=1, largest=False, sorted=True, out=(values[: b - a], nearest[a:b])) → torch.topk(chunk, k, largest=False, sorted=True, out=(values[: b - a], nearest[a:b]))",
            "topk's default dim is the last one: dim 1 of the 2-D chunk",
        ),
        "finereid.metrics.rerank.xǁ_Blocksǁnearest__mutmut_75": (
            "torch.topk(chunk, k, dim=1, largest=False, sorted=True, out=(values[: b - a], nearest[a:b])) → torch.topk(chunk, k, dim=1, largest=False, out=(values[: b - a], nearest[a:b]))",
            "topk's default is sorted=True",
        ),
    },
    "efficientnet": {
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_4": (
            "pretrained=False, → pretrained=None,",
            "timm.create_model loads weights only `if pretrained:`; None is falsy like False: the same randomly initialized body",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_6": (
            'global_pool="", → global_pool=None,',
            "timm.create_model drops keyword arguments that are None, so the body gets timm's default 'avg' pool (and flatten) instead of none; the trunk runs only the body's forward_features (stem, blocks, head conv); the pool module after it is never called by finereid and has no parameters or buffers, so feature maps, state dict and checkpoints are identical (only trunk.body's own forward and repr differ, which finereid never uses; TimmTrunk keeps timm's default pool too)",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_11": (
            "pretrained=False, → (removed)",
            "pretrained defaults to False in timm.create_model: the same randomly initialized body",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_13": (
            'global_pool="", → (removed)',
            "the body gets timm's default 'avg' pool (and flatten) instead of none; the trunk runs only the body's forward_features (stem, blocks, head conv); the pool module after it is never called by finereid and has no parameters or buffers, so feature maps, state dict and checkpoints are identical (only trunk.body's own forward and repr differ, which finereid never uses; TimmTrunk keeps timm's default pool too)",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_24": (
            'pad_type="same", → pad_type="SAME",',
            "timm lower-cases a string padding (timm.layers.padding.get_padding_value) before comparing it with 'same': the same TF-SAME convolutions (checked: identical module tree and feature maps)",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_26": (
            "output_stride=16 * last_stride,  # last_stride 1 dilates the last stride-2 stage (timm's way) → output_stride=17 * last_stride,  # last_stride 1 dilates the last stride-2 stage (timm's way)",
            "timm's EfficientNet builder turns a stride-2 step into dilation only when the running stride would exceed output_stride; running strides are powers of two up to 32, so 16 * s and 17 * s dilate the same blocks for every integer last_stride s (s = 1: only the step to 32 exceeds 16 or 17; s >= 2: 32 exceeds neither; checked: identical module trees)",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_32": (
            'self.register_buffer("in_scale", (std / _TF_STD).view(1, 3, 1, 1), persistent=False) → self.register_buffer("in_scale", (std / _TF_STD).view(1, 3, 1, 1), persistent=None)',
            "register_buffer tests `if persistent:`; None is falsy, so the buffer is non-persistent as with False (not in the state dict)",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_42": (
            'self.register_buffer("in_scale", (std / _TF_STD).view(1, 3, 1, 1), persistent=False) → self.register_buffer("in_scale", (std / _TF_STD).view(3, 1, 1), persistent=False)',
            "the trunk's input is [B, 3, H, W] (finereid's models reject any other shape with a ConfigError before the trunk): a (3, 1, 1) per-channel buffer broadcasts over it exactly as (1, 3, 1, 1) does, and the buffer is not saved; only a bare trunk fed one unbatched [3, H, W] image would differ (the original makes it a batch of one, the mutant fails in BatchNorm), an input outside its documented [B, 3, H, W]",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_54": (
            'self.register_buffer("in_shift", ((mean - _TF_MEAN) / _TF_STD).view(1, 3, 1, 1), persistent=False) → self.register_buffer("in_shift", ((mean - _TF_MEAN) / _TF_STD).view(1, 3, 1, 1), persistent=None)',
            "register_buffer tests `if persistent:`; None is falsy, so the buffer is non-persistent as with False (not in the state dict)",
        ),
        "finereid.models.backbones.efficientnet.xǁEfficientNetLite0Trunkǁ__init____mutmut_64": (
            'self.register_buffer("in_shift", ((mean - _TF_MEAN) / _TF_STD).view(1, 3, 1, 1), persistent=False) → self.register_buffer("in_shift", ((mean - _TF_MEAN) / _TF_STD).view(3, 1, 1), persistent=False)',
            "the trunk's input is [B, 3, H, W] (finereid's models reject any other shape with a ConfigError before the trunk): a (3, 1, 1) per-channel buffer broadcasts over it exactly as (1, 3, 1, 1) does, and the buffer is not saved; only a bare trunk fed one unbatched [3, H, W] image would differ (the original makes it a batch of one, the mutant fails in BatchNorm), an input outside its documented [B, 3, H, W]",
        ),
    },
    "heads": {
        "finereid.models.heads.xǁBNNeckǁ__init____mutmut_10": (
            "self.classifier = nn.Linear(in_dim, num_classes, bias=False) → self.classifier = nn.Linear(in_dim, num_classes, bias=None)",
            "nn.Linear tests `if bias:`; None is falsy: the classifier is bias-free as with False (classifier.bias is None)",
        ),
        "finereid.models.heads.xǁFCEmbeddingǁ__init____mutmut_14": (
            "self.fc = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True)) → self.fc = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=None))",
            "memory only: ReLU passes inplace to F.relu, which tests `if inplace:`, so None computes out of place like False; BatchNorm1d's backward does not read its output, so values and gradients are the same (checked in training mode: outputs, input and parameter gradients, running statistics)",
        ),
        "finereid.models.heads.xǁFCEmbeddingǁ__init____mutmut_15": (
            "self.fc = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True)) → self.fc = nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=False))",
            "memory only: the in-place ReLU overwrites the BatchNorm output instead of allocating a new tensor; BatchNorm1d's backward does not read its output, so values and gradients are the same (checked in training mode: outputs, input and parameter gradients, running statistics)",
        ),
    },
    "sampler": {
        "finereid.data.sampler.x__group_pids__mutmut_2": (
            'return {"all": sorted_pids} → return {"XXallXX": sorted_pids}',
            _GROUP_NAME,
        ),
        "finereid.data.sampler.x__group_pids__mutmut_3": (
            'return {"all": sorted_pids} → return {"ALL": sorted_pids}',
            _GROUP_NAME,
        ),
        "finereid.data.sampler.x__group_pids__mutmut_10": (
            "for pid, name in zip(pids, datasets, strict=True): → for pid, name in zip(pids, datasets, strict=None):",
            _LENGTHS_CHECKED,
        ),
        "finereid.data.sampler.x__group_pids__mutmut_13": (
            "for pid, name in zip(pids, datasets, strict=True): → for pid, name in zip(pids, datasets, ):",
            _LENGTHS_CHECKED,
        ),
        "finereid.data.sampler.x__group_pids__mutmut_14": (
            "for pid, name in zip(pids, datasets, strict=True): → for pid, name in zip(pids, datasets, strict=False):",
            _LENGTHS_CHECKED,
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ__iter____mutmut_13": (
            "for my_pids, count in zip(mine, self._counts(batch), strict=True): → for my_pids, count in zip(mine, self._counts(batch), strict=None):",
            _ONE_COUNT_PER_GROUP,
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ__iter____mutmut_16": (
            "for my_pids, count in zip(mine, self._counts(batch), strict=True): → for my_pids, count in zip(mine, self._counts(batch), ):",
            _ONE_COUNT_PER_GROUP,
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ__iter____mutmut_18": (
            "for my_pids, count in zip(mine, self._counts(batch), strict=True): → for my_pids, count in zip(mine, self._counts(batch), strict=False):",
            _ONE_COUNT_PER_GROUP,
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ__iter____mutmut_32": (
            "weights = np.array([len(pending[pid]) for pid in available], dtype=np.float64) → weights = np.array([len(pending[pid]) for pid in available], dtype=None)",
            _INT_WEIGHTS,
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ__iter____mutmut_34": (
            "weights = np.array([len(pending[pid]) for pid in available], dtype=np.float64) → weights = np.array([len(pending[pid]) for pid in available], )",
            _INT_WEIGHTS,
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ__iter____mutmut_38": (
            "chosen = rng.choice(len(available), size=count, replace=False, p=weights / weights.sum()) → chosen = rng.choice(len(available), size=count, replace=None, p=weights / weights.sum())",
            "numpy's Generator.choice reads replace by truth value: None draws without replacement, as False does (checked: same draws for 50 seeds)",
        ),
        "finereid.data.sampler.xǁRandomIdentitySamplerǁ_chunks__mutmut_9": (
            "return [rng.choice(indices, size=k, replace=True).tolist()] → return [rng.choice(indices, size=k, ).tolist()]",
            "replace=True is the default of numpy's Generator.choice",
        ),
    },
    "transforms": {
        "finereid.data.transforms.xǁRandomPatchǁforward__mutmut_51": (
            "y0, x0, y1, x1 = (int(torch.randint(0, n - size + 1, ())) for n, size in → y0, x0, y1, x1 = (int(torch.randint(n - size + 1, ())) for n, size in",
            "torch.randint(high, size) is torch.randint(0, high, size): low defaults to 0; the same values from the same generator state, which it leaves the same (checked for 2000 seeds)",
        ),
        "finereid.data.transforms.xǁPadAndCropǁforward__mutmut_11": (
            "top = int(torch.randint(0, 2 * pad + 1, size=())) - pad  # the crop's offset in image coordinates → top = int(torch.randint(2 * pad + 1, size=())) - pad  # the crop's offset in image coordinates",
            "torch.randint(high, size) is torch.randint(0, high, size): low defaults to 0; the same values from the same generator state, which it leaves the same (checked for 2000 seeds)",
        ),
        "finereid.data.transforms.xǁPadAndCropǁforward__mutmut_25": (
            "left = int(torch.randint(0, 2 * pad + 1, size=())) - pad → left = int(torch.randint(2 * pad + 1, size=())) - pad",
            "torch.randint(high, size) is torch.randint(0, high, size): low defaults to 0; the same values from the same generator state, which it leaves the same (checked for 2000 seeds)",
        ),
        "finereid.data.transforms.xǁRandomEraseǁforward__mutmut_39": (
            "top = int(torch.randint(0, height - h + 1, size=(1,))) → top = int(torch.randint(height - h + 1, size=(1,)))",
            "torch.randint(high, size) is torch.randint(0, high, size): low defaults to 0; the same values from the same generator state, which it leaves the same (checked for 2000 seeds)",
        ),
        "finereid.data.transforms.xǁRandomEraseǁforward__mutmut_52": (
            "left = int(torch.randint(0, width - w + 1, size=(1,))) → left = int(torch.randint(width - w + 1, size=(1,)))",
            "torch.randint(high, size) is torch.randint(0, high, size): low defaults to 0; the same values from the same generator state, which it leaves the same (checked for 2000 seeds)",
        ),
        "finereid.data.transforms.xǁPadAndCropǁforward__mutmut_58": (
            "if y0 < y1 and x0 < x1: → if y0 <= y1 and x0 < x1:",
            "the two ends are equal only when the crop and the image share no row (or no column): the slices are then empty, and assigning an empty slice changes nothing",
        ),
        "finereid.data.transforms.xǁPadAndCropǁforward__mutmut_59": (
            "if y0 < y1 and x0 < x1: → if y0 < y1 and x0 <= x1:",
            "the two ends are equal only when the crop and the image share no row (or no column): the slices are then empty, and assigning an empty slice changes nothing",
        ),
        "finereid.data.transforms.xǁResizeImageǁforward__mutmut_6": (
            "return F.resize_image(image, self.size, antialias=True) → return F.resize_image(image, self.size, )",
            "antialias=True is the default of torchvision's resize_image kernel (torchvision >= 0.17; finereid requires >= 0.19); test_downscaling_is_antialiased checks the antialiasing itself",
        ),
        "finereid.data.transforms.xǁToNormalizedFloatǁforward__mutmut_7": (
            "return F.to_dtype_image(image, torch.float32, scale=True).sub(self.mean).div_(self.std) → return F.to_dtype_image(image, scale=True).sub(self.mean).div_(self.std)",
            "torch.float, to_dtype_image's default dtype, is torch.float32 itself (a fixed dtype, not torch's default dtype)",
        ),
    },
    "engine": {
        "finereid.engine.module.xǁReIDModuleǁtraining_step__mutmut_15": (
            'uses_camids = getattr(self.model, "uses_camids", False) → uses_camids = getattr(self.model, "uses_camids", None)',
            "the default is read only as a condition (`if uses_camids`): None and False are both false, so a model without the attribute is called with images only either way",
        ),
        "finereid.engine.module.xǁReIDModuleǁtraining_step__mutmut_50": (
            "if len(optimizers) > 1:  # centers learn from the unweighted center loss (strong baseline) → if len(optimizers) >= 1:  # centers learn from the unweighted center loss (strong baseline)",
            "with one optimizer there are no center losses (center_weight 0 builds an empty ModuleList, and any center loss adds the second optimizer), so the loop that rescales their gradients has nothing to visit",
        ),
    },
}
