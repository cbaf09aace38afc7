"""Equivalent mutants of benchmarks/mutation.py: changes that compute the same thing; no test can kill them.

EQUIVALENT[module][mutant] = (the mutated line(s) as mutmut wrote them, the reason). The line is checked on
every run: when the source changes and a name points at another mutation, the entry is reported stale.
"""

from __future__ import annotations

_NORM_BLOCK = (
    "performance only: the row-block size of the squared norms (about 4M entries) bounds a temporary's "
    "memory; any step >= 1 computes the same norms"
)
_NORM_LINE = "step = max(1, (1 << 22) // max(1, feats.shape[1]))"

EQUIVALENT: dict[str, dict[str, tuple[str, str]]] = {
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
}
