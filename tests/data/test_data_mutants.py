"""Sampler and transform behaviour that mutation testing (benchmarks/mutation.py) found unguarded.

Expected values are the strong baseline's published recipe (Luo et al. 2019) built from torchvision's own
classes, or counts worked out by hand in the comments; never numbers copied from a run.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from finereid.data import RandomIdentitySampler, build_transforms
from finereid.errors import ConfigError

# 20 identities: pid p has 1 + (p % 7) images (1..7), so some have fewer than K = 4.
PIDS = [pid for pid in range(20) for _ in range(1 + pid % 7)]


def _strong_baseline_train(mean: list[float], std: list[float]) -> v2.Compose:
    """The strong baseline's train pipeline at 256 x 128, from its paper and code, not from finereid."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize((256, 128), antialias=True),
            v2.RandomHorizontalFlip(p=0.5),
            v2.Pad(10),
            v2.RandomCrop((256, 128)),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
            v2.RandomErasing(p=0.5, scale=(0.02, 0.4), ratio=(0.3, 1 / 0.3), value=mean),
        ]
    )


# --- sampler ------------------------------------------------------------------------------------------


def _order(sampler: RandomIdentitySampler, epoch: int | None = None) -> list[int]:
    if epoch is not None:
        sampler.set_epoch(epoch)
    return list(sampler)


def test_default_seed_is_0_and_a_fresh_sampler_yields_epoch_0():
    assert _order(RandomIdentitySampler(PIDS, 16, 4)) == _order(RandomIdentitySampler(PIDS, 16, 4, seed=0), 0)
    assert _order(RandomIdentitySampler(PIDS, 16, 4)) != _order(RandomIdentitySampler(PIDS, 16, 4), 1)


def test_batch_count_is_chunks_over_p():
    # n // 4 is 0 for n = 1..3 and 1 for n = 4..7, and every pid counts at least one chunk: 20 chunks,
    # 20 // P (= 4) = 5 batches of 16
    assert len(RandomIdentitySampler(PIDS, 16, 4)) == 5 * 16
    # 12 pids x 9 images, K = 4: two chunks each (the ninth image waits), 24 // 3 = 8 batches of 12
    assert len(RandomIdentitySampler([p for p in range(12) for _ in range(9)], 12, 4)) == 8 * 12


def test_k_of_one_and_p_of_one_and_exactly_enough_identities_are_valid():
    singles = RandomIdentitySampler(PIDS, 4, 1)  # 4 distinct identities, one image each
    batch = _order(singles)[:4]
    assert len({PIDS[i] for i in batch}) == 4
    one_id = RandomIdentitySampler(PIDS, 4, 4)  # P = 1: every batch is one identity's K images
    order = _order(one_id)
    assert all(len({PIDS[i] for i in order[j : j + 4]}) == 1 for j in range(0, len(order), 4))
    exact = [p for p in range(8) for _ in range(4)]  # P x world_size = 4 x 2 = 8 identities, no spare
    assert len(RandomIdentitySampler(exact, 16, 4, rank=1, world_size=2)) == 16


def test_zero_images_per_identity_is_a_config_error():
    with pytest.raises(ConfigError, match="positive multiple of num_instances"):
        RandomIdentitySampler(PIDS, 16, 0)


def test_an_identity_with_exactly_k_images_gives_k_distinct_images():
    pids = [p for p in range(10) for _ in range(4)]
    order = _order(RandomIdentitySampler(pids, 8, 4, seed=2))
    chunks = [order[j : j + 4] for j in range(0, len(order), 4)]
    assert len(chunks) == 10 and all(len(set(chunk)) == 4 for chunk in chunks)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identities_are_drawn_in_proportion_to_their_remaining_chunks(seed):
    # pid 0 has 20 chunks, pids 1..20 one each: 40 chunks, 20 batches of P = 2. Weighted by what is left,
    # pid 0 is in most batches (60-72 of its 80 images per epoch); drawn uniformly it would be in about
    # 2 of 21 draws (under 20 images). Half its images is the line between the two.
    pids = [0] * 80 + [p for p in range(1, 21) for _ in range(4)]
    sampler = RandomIdentitySampler(pids, 8, 4, seed=seed)
    for epoch in range(3):
        seen = {i for i in _order(sampler, epoch) if pids[i] == 0}
        assert len(seen) >= 40


# --- transforms ---------------------------------------------------------------------------------------


def test_default_train_transform_is_the_strong_baseline_draw_for_draw():
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    ours, reference = build_transforms(), _strong_baseline_train(mean, std)
    image = torch.randint(0, 256, (3, 100, 60), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    outputs = []
    for seed in range(12):
        torch.manual_seed(seed)
        got = ours(image)
        torch.manual_seed(seed)
        torch.testing.assert_close(got, reference(image))
        outputs.append(got)
    assert len({float(o.sum()) for o in outputs}) > 6  # the draws really differ (it is the train pipeline)


def test_eval_transform_never_erases_and_always_gives_the_same_tensor():
    transform = build_transforms(32, 16, is_train=False)  # erasing_prob keeps its default 0.5
    image = torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    first = transform(image)
    assert all(torch.equal(transform(image), first) for _ in range(20))


def test_downscaling_is_antialiased():
    # noise shrunk 8x: bilinear sampling without antialiasing averages 2 x 2 pixels (std / 2); the
    # antialiased resize averages a 16 x 16 tent, far below std / 4
    noise = torch.randint(0, 256, (3, 128, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    out = build_transforms(16, 8, is_train=False, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))(noise)
    assert float(out.std()) < float(noise.float().std()) / 255 / 4


def test_train_transform_resizes_a_larger_image_and_reads_pil():
    image = Image.new("RGB", (40, 90), (200, 30, 30))
    out = build_transforms(32, 16, flip_prob=0.0, padding=2, erasing_prob=0.0)(image)
    assert out.shape == (3, 32, 16)


def test_one_pixel_padding_is_applied():
    # right half white: with 1 pixel of black padding some random crops move black into the last column
    image = torch.zeros(3, 32, 16, dtype=torch.uint8)
    image[:, :, 8:] = 255
    transform = build_transforms(
        32, 16, flip_prob=0.0, padding=1, erasing_prob=0.0, mean=(0.0,) * 3, std=(1.0,) * 3
    )
    torch.manual_seed(0)
    assert any(float(transform(image)[0, 5, -1]) == 0.0 for _ in range(40))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "image size must be positive integers"),
        ({"height": 32.0}, "image size must be positive integers"),
        ({"mean": (0.5, 0.5)}, "mean and std need 3 values each"),
        ({"std": (0.2, 0.2, 0.2, 0.2)}, "mean and std need 3 values each"),
        ({"padding": 1.5}, "padding must be a non-negative integer"),
    ],
)
def test_more_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_transforms(**kwargs)


def test_one_pixel_high_or_wide_images_are_valid():
    image = torch.zeros(3, 4, 4, dtype=torch.uint8)
    assert build_transforms(1, 2, is_train=False)(image).shape == (3, 1, 2)
    assert build_transforms(2, 1, is_train=False)(image).shape == (3, 2, 1)
