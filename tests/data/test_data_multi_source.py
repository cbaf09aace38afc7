"""Multi-source training sets: offsets keep identities and cameras apart; the dataset-balanced sampler."""

from __future__ import annotations

from collections import Counter

import pytest

from finereid.data import (
    ImageRecord,
    RandomIdentitySampler,
    ReIDDataset,
    camera_offsets,
    combine_sources,
    relabel,
    sources_table,
)
from finereid.errors import ConfigError, DatasetError


def _dataset(name: str, pids: range, cams: int, per_pid: int = 4) -> ReIDDataset:
    """A parsed-looking dataset: train pids relabelled, test pids as on disk, `cams` cameras."""
    train = relabel(ImageRecord(f"{name}/t{p}_{k}.jpg", p, k % cams) for p in pids for k in range(per_pid))
    query = [ImageRecord(f"{name}/q{p}.jpg", 1000 + p, 0) for p in range(3)]
    gallery = [ImageRecord(f"{name}/g{p}.jpg", 1000 + p, cams - 1) for p in range(3)]
    return ReIDDataset(name, f"/data/{name}", train, query, gallery)


def test_offsets_keep_identities_and_cameras_of_two_datasets_apart() -> None:
    # both datasets number their identities 0.. and their cameras 0..: combined, nothing is shared
    first, second = _dataset("a", range(5, 11), cams=3), _dataset("b", range(5, 9), cams=2)
    offsets = camera_offsets([first, second])
    assert offsets == [0, 3]
    parts = combine_sources(["a", "b"], [first.train, second.train], offsets)
    assert [(p.pid_offset, p.camid_offset, p.num_pids) for p in parts] == [(0, 0, 6), (6, 3, 4)]
    pids = [{r.pid for r in p.records} for p in parts]
    cams = [{r.camid for r in p.records} for p in parts]
    assert pids == [set(range(6)), set(range(6, 10))] and cams == [{0, 1, 2}, {3, 4}]
    assert [r.path for r in parts[1].records] == [r.path for r in second.train]  # same images, same order
    with pytest.raises(DatasetError, match=r"relabelled 0\.\.N-1"):
        combine_sources(["a"], [[ImageRecord("x.jpg", 7, 0)]], [0])


def test_sources_table_names_every_dataset_and_its_role() -> None:
    first, second = _dataset("a", range(6), cams=3), _dataset("b", range(4), cams=2)
    parts = combine_sources(["a", "b"], [first.train, second.train], camera_offsets([first, second]))
    roots = {"a": "/data/a", "b": "/data/b", "c": "/data/c"}
    table = sources_table(parts, roots, {"a": (3, 3), "c": (7, 9)})
    rows = {
        line.split("|")[0].strip(): [c.strip() for c in line.split("|")] for line in table.splitlines()[2:]
    }
    assert rows["a"][1:4] == ["train + val", "6", "24"] and rows["a"][7:] == ["3", "3", "/data/a"]
    assert rows["b"][1] == "train" and rows["b"][5:7] == ["6", "3"]  # pid and camera offsets
    assert rows["c"][1] == "val" and rows["c"][7:] == ["7", "9", "/data/c"]


# 30 identities of dataset "big" (8 images each), 6 of dataset "small" (4 each): pids already offset.
BIG = [(pid, "big") for pid in range(30) for _ in range(8)]
SMALL = [(pid, "small") for pid in range(30, 36) for _ in range(4)]


def _balanced(
    batch_size: int = 16, world_size: int = 1, rank: int = 0, seed: int = 0
) -> RandomIdentitySampler:
    samples = BIG + SMALL
    return RandomIdentitySampler([p for p, _ in samples], batch_size, 4, seed=seed, rank=rank,
                                 world_size=world_size, datasets=[d for _, d in samples])  # fmt: skip


def _batch_datasets(sampler: RandomIdentitySampler, epoch: int = 0) -> list[Counter]:
    """Identities per dataset in each batch."""
    samples = BIG + SMALL
    sampler.set_epoch(epoch)
    order = list(sampler)
    batches = [order[i : i + sampler.batch_size] for i in range(0, len(order), sampler.batch_size)]
    return [Counter(samples[i][1] for i in batch[:: sampler.num_instances]) for batch in batches]


def test_balanced_sampler_splits_every_batch_evenly_over_datasets() -> None:
    plain = RandomIdentitySampler([p for p, _ in BIG + SMALL], 16, 4, seed=0)
    balanced = _balanced()
    assert len(balanced) == len(plain)  # same epoch length: only the mix changes
    counts = _batch_datasets(balanced)
    assert counts and all(c == Counter({"big": 2, "small": 2}) for c in counts)
    plain.set_epoch(0)
    plain_small = sum(1 for i in list(plain)[::4] if (BIG + SMALL)[i][1] == "small")
    assert plain_small < sum(c["small"] for c in counts)  # the plain sampler mostly draws the big one


def test_balanced_sampler_rotates_the_odd_identity_and_stays_deterministic() -> None:
    counts = _batch_datasets(_balanced(batch_size=12))  # P = 3 over 2 datasets
    assert all(sum(c.values()) == 3 and min(c.values()) >= 1 for c in counts)
    assert {c["big"] for c in counts} == {1, 2}  # the third identity alternates between the datasets
    assert _batch_datasets(_balanced(batch_size=12)) == counts
    assert list(_balanced(seed=1)) != list(_balanced(seed=0))


def test_balanced_sampler_ranks_get_disjoint_identities_of_each_dataset() -> None:
    samples = BIG + SMALL
    seen = []
    for rank in range(2):
        sampler = _balanced(batch_size=8, world_size=2, rank=rank)
        sampler.set_epoch(0)
        seen.append({samples[i][0] for i in sampler})
        assert all(c == Counter({"big": 1, "small": 1}) for c in _batch_datasets(sampler))
    assert not seen[0] & seen[1]


def test_balanced_sampler_errors_name_the_short_dataset() -> None:
    samples = BIG + SMALL
    with pytest.raises(ConfigError, match="small has 6") as info:
        RandomIdentitySampler([p for p, _ in samples], 64, 4, datasets=[d for _, d in samples])
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="one dataset per sample"):
        RandomIdentitySampler([p for p, _ in samples], 16, 4, datasets=["big"])
    with pytest.raises(ConfigError, match="belongs to two datasets"):
        RandomIdentitySampler([0, 0, 1, 1, 2, 2], 4, 2, datasets=["a", "b", "a", "a", "b", "b"])
