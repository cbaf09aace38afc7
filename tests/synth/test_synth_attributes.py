"""Identity sampling: look-alike groups differ in exactly one attribute, groups are far apart."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from finereid.synth.attributes import (
    COARSE_VALUES,
    FINE_ATTRIBUTES,
    FINE_VALUES,
    MIN_GROUP_DISTANCE,
    differing_attributes,
    partition_sizes,
    sample_groups,
)
from finereid.synth.pen import PALETTE

COLOUR_ATTRIBUTES = ("skin", "hair_colour", "top_colour", "top_colour2", "bottom_colour", "bag_colour",
                     "shoes", "logo", "hat", "stripe")  # fmt: skip


def _groups(seed: int, n: int = 300, max_size: int = 3):
    rng = np.random.default_rng(seed)
    return sample_groups(partition_sizes(n, max_size, rng), rng)


@pytest.mark.parametrize("max_size", [3, 4, 5])
def test_partition_sizes_cover_every_count(max_size: int) -> None:
    rng = np.random.default_rng(0)
    for n in range(2, 60):
        sizes = partition_sizes(n, max_size, rng)
        assert sum(sizes) == n
        assert all(2 <= s <= max_size for s in sizes), (n, sizes)


def test_partition_sizes_rejects_impossible_requests() -> None:
    with pytest.raises(ValueError):
        partition_sizes(1, 3, np.random.default_rng(0))
    with pytest.raises(ValueError):
        partition_sizes(10, 2, np.random.default_rng(0))


def test_members_differ_in_exactly_the_group_attribute() -> None:
    groups = _groups(0, max_size=5)
    assert sum(len(g.members) for g in groups) == 300
    for g in groups:
        values = [getattr(m, g.attribute) for m in g.members]
        assert len(set(values)) == len(values)
        for a, b in itertools.combinations(g.members, 2):
            assert differing_attributes(a, b) == [g.attribute]


def test_members_of_different_groups_are_not_lookalikes() -> None:
    groups = _groups(1, n=200)
    people = [(i, m) for i, g in enumerate(groups) for m in g.members]
    for (gi, a), (gj, b) in itertools.combinations(people, 2):
        if gi != gj:
            assert len(differing_attributes(a, b)) >= MIN_GROUP_DISTANCE


def test_every_fine_attribute_separates_some_group() -> None:
    used = {g.attribute for g in _groups(2)}
    assert used == set(FINE_ATTRIBUTES)
    # the "bag and its side" case: some group tells a left from a right shoulder bag
    pairs = [{m.bag for m in g.members} for g in _groups(3, n=600) if g.attribute == "bag"]
    assert any({"left", "right"} <= values for values in pairs)


def test_logo_and_stripe_contrast_with_the_top() -> None:
    for g in _groups(4):
        for m in g.members:
            for detail in (m.logo, m.stripe):
                assert detail not in (m.top_colour, m.top_colour2)
            assert m.top_colour != m.top_colour2


def test_sampling_is_deterministic_by_seed() -> None:
    assert _groups(5) == _groups(5)
    assert _groups(5) != _groups(6)


def test_palette_covers_every_colour_value() -> None:
    values = {**COARSE_VALUES, **FINE_VALUES}
    for name in COLOUR_ATTRIBUTES:
        missing = [v for v in values[name] if v != "none" and v not in PALETTE]
        assert not missing, (name, missing)
