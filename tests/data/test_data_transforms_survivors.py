"""Transform behaviour that mutation testing (benchmarks/mutation.py, issue #22) found unguarded.

RandomPatch's geometry (area and aspect-ratio ranges, size on tiny images, positions up to every border,
a horizontal mirror half the time, the probability p) and build_transforms' switched-off steps. Every
check is seeded or drives the draws itself; the bounds come from the documented ranges, not from a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch

from finereid.data import RandomPatch, build_transforms
from finereid.data.transforms import PATCH_RATIO, PATCH_SCALE
from finereid.errors import ConfigError

SEEDS = range(300)


@dataclass(frozen=True)
class Paste:
    """Where one RandomPatch call copied from and to: top-left corners, size, and whether it mirrored."""

    y0: int
    x0: int
    y1: int
    x1: int
    h: int
    w: int
    mirrored: bool


def _coordinates(height: int, width: int) -> torch.Tensor:
    """A (3, H, W) int64 image whose pixels hold their own row and column (and a zero channel)."""
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([ys, xs, torch.zeros_like(ys)])


def _paste(image: torch.Tensor, out: torch.Tensor) -> Paste | None:
    """The paste read back from a coordinate image, or None where it cannot be told apart exactly."""
    # unreadable: nothing moved, the patch landed on its own rows (a mirrored copy then keeps one column in
    # place, maybe at an edge), or a one-pixel-wide or -high patch (its mirror or row order cannot show)
    moved = (out != image).any(dim=0)
    if not moved.any():
        return None
    rows, cols = moved.nonzero(as_tuple=True)
    src_rows, src_cols = out[0, rows, cols], out[1, rows, cols]
    y1, x1 = int(rows.min()), int(cols.min())
    h, w = int(rows.max()) - y1 + 1, int(cols.max()) - x1 + 1
    shift = rows - src_rows
    if h < 2 or w < 2 or int(shift[0]) == 0:
        return None
    assert bool((shift == shift[0]).all()), "the patch's rows keep their order: the mirror is horizontal"
    assert int(moved.sum()) == h * w, "one solid rectangle is pasted"
    mirrored = bool((cols + src_cols == cols[0] + src_cols[0]).all())
    assert mirrored or bool((cols - src_cols == cols[0] - src_cols[0]).all())
    x0 = int(src_cols.max()) - w + 1 if mirrored else int(src_cols.min())
    return Paste(y1 - int(shift[0]), x0, y1, x1, h, w, mirrored)


def _pastes(height: int, width: int, patch: RandomPatch, seeds: range = SEEDS) -> Iterator[Paste]:
    """The readable pastes of `patch` on a coordinate image, one call per seed."""
    image = _coordinates(height, width)
    for seed in seeds:
        torch.manual_seed(seed)
        paste = _paste(image, patch(image))
        if paste is not None:
            yield paste


# --- RandomPatch: size, position, mirror ------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(128, 64), (64, 64), (12, 6)])
def test_patch_area_and_aspect_ratio_stay_in_the_documented_ranges(height: int, width: int) -> None:
    # each side is a rounded square root (of area x ratio and area / ratio), so it lies within 0.5 of it:
    # the drawn area lies between (h - 0.5)(w - 0.5) and (h + 0.5)(w + 0.5), the ratio likewise
    pastes = list(_pastes(height, width, RandomPatch(p=1.0)))
    assert len(pastes) >= len(SEEDS) * 0.7
    image_area = height * width
    for p in pastes:
        assert (p.h - 0.5) * (p.w - 0.5) <= PATCH_SCALE[1] * image_area
        assert (p.h + 0.5) * (p.w + 0.5) >= PATCH_SCALE[0] * image_area
        assert (p.h - 0.5) / (p.w + 0.5) <= PATCH_RATIO[1] and (p.h + 0.5) / (p.w - 0.5) >= PATCH_RATIO[0]
    if height >= 64:  # and the whole ranges are used (on large images, where rounding is small)
        fractions = [p.h * p.w / image_area for p in pastes]
        assert min(fractions) < 0.04 and max(fractions) > 0.15
        ratios = [p.h / p.w for p in pastes]
        assert min(ratios) < 0.65 and max(ratios) > 1.5


def test_patch_is_documented_2_to_20_percent_of_a_person_image() -> None:
    # the default input size, 256 x 128: the area is a fraction of the image, not of one side
    pastes = list(_pastes(256, 128, RandomPatch(p=1.0), range(40)))
    assert len(pastes) >= 30
    assert all(0.015 <= p.h * p.w / (256 * 128) <= 0.22 for p in pastes)


@pytest.mark.parametrize(("height", "width"), [(1, 40), (40, 1), (1, 1), (2, 3)])
def test_patch_fits_images_one_pixel_high_or_wide(height: int, width: int) -> None:
    # the patch is at least one pixel and at most the image on each side, so any image size works: every
    # output pixel is a pixel of the same image, and a one-pixel-high image keeps its one row
    image = _coordinates(height, width)
    patch = RandomPatch(p=1.0)
    for seed in range(30):
        torch.manual_seed(seed)
        out = patch(image)
        assert out.shape == image.shape
        assert bool((out[0] < height).all() and (out[1] < width).all())
        if height == 1:
            assert bool((out[0] == 0).all())
        if width == 1:
            assert bool((out[1] == 0).all())


def test_patch_source_and_target_reach_every_border() -> None:
    # both corners are drawn uniformly over every place where the patch fits: flush with the top, bottom,
    # left and right edges included (300 draws, about 1 in 25 lands on each edge)
    pastes = list(_pastes(32, 16, RandomPatch(p=1.0)))
    for corners in ([(p.y0, p.x0, p) for p in pastes], [(p.y1, p.x1, p) for p in pastes]):
        assert all(y >= 0 and y + p.h <= 32 and x >= 0 and x + p.w <= 16 for y, x, p in corners)
        assert any(y == 0 for y, _, _ in corners) and any(y + p.h == 32 for y, _, p in corners)
        assert any(x == 0 for _, x, _ in corners) and any(x + p.w == 16 for _, x, p in corners)


def test_patch_is_mirrored_horizontally_half_the_time() -> None:
    # _paste asserts the rows keep their order (a left-right mirror, never upside down)
    pastes = list(_pastes(64, 32, RandomPatch(p=1.0)))
    mirrored = sum(p.mirrored for p in pastes)
    assert 0.4 * len(pastes) <= mirrored <= 0.6 * len(pastes)


# --- RandomPatch: probability ------------------------------------------------------------------------


def _applied(patch: RandomPatch, seeds: range = SEEDS) -> int:
    """How many of the seeded calls pasted a patch (changed the image)."""
    image = _coordinates(64, 32)
    count = 0
    for seed in seeds:
        torch.manual_seed(seed)
        count += not torch.equal(patch(image), image)
    return count


def test_patch_probability_is_p_and_defaults_to_one_half() -> None:
    # 300 draws: 90 expected at p = 0.3 (sd 8), 150 at 0.5 (sd 9); a paste onto its own place is rare
    assert 60 <= _applied(RandomPatch(p=0.3)) <= 120
    assert 120 <= _applied(RandomPatch()) <= 180
    assert RandomPatch().p == 0.5


def test_patch_of_probability_zero_draws_no_random_number() -> None:
    image = _coordinates(16, 8)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    assert RandomPatch(p=0.0)(image) is image
    assert torch.equal(torch.get_rng_state(), before)


def _scripted_rand(monkeypatch: pytest.MonkeyPatch, draws: list[float]) -> None:
    """torch.rand returns these uniform draws in turn (the sizes and positions stay torch's own)."""
    values = iter(draws)
    monkeypatch.setattr(torch, "rand", lambda *args, **kwargs: torch.tensor(next(values)))


def test_a_draw_equal_to_p_does_not_paste(monkeypatch: pytest.MonkeyPatch) -> None:
    # paste when the uniform [0, 1) draw u < p, as torchvision's random transforms do: P(paste) = p
    image = _coordinates(64, 32)
    for draws, pasted in (([0.5], False), ([0.4999, 0.9], True)):
        _scripted_rand(monkeypatch, draws)
        torch.manual_seed(0)
        assert (not torch.equal(RandomPatch(p=0.5)(image), image)) == pasted


def test_a_flip_draw_of_one_half_does_not_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    # mirror when the uniform [0, 1) draw u < 0.5: exactly half of the draws
    image = _coordinates(64, 32)
    outs = {}
    for flip_draw in (0.1, 0.4999, 0.5, 0.9):
        _scripted_rand(monkeypatch, [0.0, flip_draw])
        torch.manual_seed(0)  # the same size and places each time
        outs[flip_draw] = RandomPatch(p=1.0)(image)
    assert not torch.equal(outs[0.1], outs[0.9])  # the patch of seed 0 is wide enough to show its mirror
    assert torch.equal(outs[0.4999], outs[0.1]) and torch.equal(outs[0.5], outs[0.9])


# --- build_transforms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("off", "absent"),
    [
        ({"flip_prob": 0.0}, {"RandomFlip"}),
        ({"padding": 0}, {"PadAndCrop"}),
        ({"erasing_prob": 0.0}, {"RandomErase"}),
        ({"flip_prob": 0.0, "padding": 0, "erasing_prob": 0.0}, {"RandomFlip", "PadAndCrop", "RandomErase"}),
    ],
)  # fmt: skip
def test_switched_off_steps_are_left_out_of_the_pipeline(off: dict, absent: set[str]) -> None:
    full = [type(step).__name__ for step in build_transforms(64, 32).transforms]
    names = [type(step).__name__ for step in build_transforms(64, 32, **off).transforms]
    assert names == [name for name in full if name not in absent]


def test_a_train_pipeline_with_every_random_step_off_draws_nothing_and_equals_eval() -> None:
    # a step of probability 0 must not draw either: it would shift every later draw of an unseeded run
    image = torch.randint(0, 256, (3, 80, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    train = build_transforms(64, 32, flip_prob=0.0, padding=0, erasing_prob=0.0)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    out = train(image)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(out, build_transforms(64, 32, is_train=False)(image))


@pytest.mark.parametrize(("probability", "low", "high"), [(0.2, 20, 60), (1.0, 180, 200)])
def test_erasing_happens_with_the_configured_probability(probability: float, low: int, high: int) -> None:
    # 200 draws at p = 0.2: 40 expected (sd 6); at p = 1 every call erases (torchvision gives up only when
    # 10 attempts at a box all fall outside the image: rare for these ranges)
    white = torch.full((3, 64, 32), 255, dtype=torch.uint8)
    transform = build_transforms(64, 32, flip_prob=0.0, padding=0, erasing_prob=probability)
    plain = build_transforms(64, 32, is_train=False)(white)
    erased = 0
    for seed in range(200):
        torch.manual_seed(seed)
        erased += not torch.equal(transform(white), plain)
    assert low <= erased <= high


def test_unknown_auto_augment_names_the_valid_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown auto_augment 'trivial'; valid: none, autoaugment, randaugment$"
    ):
        build_transforms(64, 32, auto_augment="trivial")
