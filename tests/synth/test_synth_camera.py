"""Cameras: distinct profiles, deterministic rendering, effects that change the picture."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from synth_helpers import PLAIN

from finereid.synth.camera import SCENES, VIEW_MIXES, Camera, Shot, sample_cameras, sample_shot
from finereid.synth.draw import VIEWS

SHOT = Shot("front", 0.3, 0.85, 0.0, 0.0, 0.5, "none", 0)


def test_six_cameras_get_six_viewpoint_mixes_and_scenes() -> None:
    cams = sample_cameras(6, np.random.default_rng(0))
    assert [c.camid for c in cams] == [1, 2, 3, 4, 5, 6]
    assert sorted(c.view_weights for c in cams) == sorted(VIEW_MIXES)
    assert sorted(c.scene for c in cams) == sorted(SCENES)
    assert len({c.cast for c in cams}) == 6


def test_shots_follow_the_cameras_viewpoint_mix() -> None:
    cam = next(c for c in sample_cameras(6, np.random.default_rng(1)) if c.view_weights[1] == 0.7)
    rng = np.random.default_rng(0)
    views = [sample_shot(cam, rng).view for _ in range(400)]
    assert 0.6 < views.count("back") / 400 < 0.8  # the "mostly from behind" camera
    kept = sample_shot(cam, rng, view="left", scale=0.8)
    assert kept.view == "left" and 0.8 * 0.96 <= kept.scale <= 0.8 * 1.04


@pytest.mark.parametrize("size", [(64, 32), (128, 64)])
def test_render_size_mode_and_determinism(size: tuple[int, int]) -> None:
    camera = Camera(sample_cameras(2, np.random.default_rng(2))[0], size)
    a = camera.render(PLAIN, SHOT, np.random.default_rng(5))
    b = camera.render(PLAIN, SHOT, np.random.default_rng(5))
    assert a.size == (size[1], size[0]) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    c = camera.render(PLAIN, SHOT, np.random.default_rng(6))  # other sensor noise
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_two_cameras_see_the_same_person_differently() -> None:
    p1, p2 = sample_cameras(2, np.random.default_rng(3))
    a = np.asarray(Camera(p1, (64, 32)).render(PLAIN, SHOT, np.random.default_rng(0)), dtype=float)
    b = np.asarray(Camera(p2, (64, 32)).render(PLAIN, SHOT, np.random.default_rng(0)), dtype=float)
    assert np.abs(a - b).mean() > 10


def test_colour_cast_tints_the_picture() -> None:
    base = replace(sample_cameras(1, np.random.default_rng(4))[0], cast=(1.0, 1.0, 1.0), noise=0.0)
    red = replace(base, cast=(1.15, 1.0, 0.85))
    a = np.asarray(Camera(base, (64, 32)).render(PLAIN, SHOT, np.random.default_rng(0)), dtype=float)
    b = np.asarray(Camera(red, (64, 32)).render(PLAIN, SHOT, np.random.default_rng(0)), dtype=float)
    assert b[..., 0].mean() > a[..., 0].mean() + 3 and b[..., 2].mean() < a[..., 2].mean() - 3


@pytest.mark.parametrize("occluder", ["pole", "box", "bush"])
def test_occluders_cover_part_of_the_picture(occluder: str) -> None:
    camera = Camera(replace(sample_cameras(1, np.random.default_rng(5))[0], noise=0.0), (64, 32))
    clear = np.asarray(camera.render(PLAIN, SHOT, np.random.default_rng(0)), dtype=int)
    hidden = np.asarray(camera.render(PLAIN, replace(SHOT, occluder=occluder, occluder_seed=9),
                                      np.random.default_rng(0)), dtype=int)  # fmt: skip
    changed = (np.abs(clear - hidden).max(axis=2) > 0).mean()
    assert 0.03 < changed < 0.7


def test_background_only_and_every_view_render() -> None:
    camera = Camera(sample_cameras(1, np.random.default_rng(6))[0], (64, 32))
    empty = np.asarray(camera.render(None, SHOT, np.random.default_rng(0)), dtype=int)
    person = np.asarray(camera.render(PLAIN, SHOT, np.random.default_rng(0)), dtype=int)
    assert (np.abs(empty - person).max(axis=2) > 30).mean() > 0.1
    for view in VIEWS:
        assert camera.render(PLAIN, replace(SHOT, view=view), np.random.default_rng(0)).size == (32, 64)
