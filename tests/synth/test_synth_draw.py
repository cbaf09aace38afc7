"""Figure drawing: proportions, the side-view mirror convention, and which details each view shows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from synth_helpers import PLAIN

from finereid.synth.attributes import Appearance
from finereid.synth.camera import Camera, CameraProfile, Shot
from finereid.synth.draw import VIEWS, draw_person

# (attribute, value) added to PLAIN -> the views in which the change must show; in the others it must not.
VISIBILITY = [
    ("shoes", "white", VIEWS),
    ("hat", "red", VIEWS),
    ("stripe", "yellow", VIEWS),
    ("backpack", "backpack", VIEWS),
    ("logo", "red", ("front",)),
    ("glasses", "dark", ("front", "left", "right")),
    ("bag", "left", ("front", "back", "left")),
    ("bag", "right", ("front", "back", "right")),
]


def _with(attribute: str, value: str) -> Appearance:
    return replace(PLAIN, **{"bag" if attribute == "backpack" else attribute: value})


def _pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img, dtype=np.int16)


@pytest.mark.parametrize("view", VIEWS)
def test_figure_fills_its_height_and_stays_inside(view: str) -> None:
    img = draw_person(PLAIN, view, 200, phase=0.7)
    assert img.mode == "RGBA"
    alpha = np.asarray(img)[..., 3] > 0
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    assert 0.95 * 200 <= rows[-1] - rows[0] <= 1.05 * 200  # head top to soles is the asked height
    assert cols[0] > 0 and cols[-1] < img.width - 1  # nothing cut at the sides
    assert 0.1 < alpha.mean() < 0.5  # a figure, not a blob or a stick


def test_left_view_is_the_mirror_of_the_right_view_for_a_symmetric_person() -> None:
    right = draw_person(PLAIN, "right", 150, phase=1.0)
    left = draw_person(PLAIN, "left", 150, phase=1.0)
    assert np.array_equal(_pixels(left), _pixels(right.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def test_front_and_back_differ_and_walking_phase_moves_the_legs() -> None:
    front, back = draw_person(PLAIN, "front", 120), draw_person(PLAIN, "back", 120)
    assert not np.array_equal(_pixels(front), _pixels(back))
    a, b = draw_person(PLAIN, "right", 120, phase=0.0), draw_person(PLAIN, "right", 120, phase=1.5)
    assert not np.array_equal(_pixels(a), _pixels(b))


@pytest.mark.parametrize(("attribute", "value", "visible"), VISIBILITY)
def test_details_show_only_from_their_sides(attribute: str, value: str, visible: tuple[str, ...]) -> None:
    for view in VIEWS:
        base = _pixels(draw_person(PLAIN, view, 160, phase=0.5))
        changed = _pixels(draw_person(_with(attribute, value), view, 160, phase=0.5))
        differs = int((np.abs(base - changed).max(axis=2) > 0).sum())
        if view in visible:
            assert differs > 20, (attribute, value, view, differs)
        else:
            assert differs == 0, (attribute, value, view, differs)


@pytest.mark.parametrize(("view", "image_side"), [("front", 1), ("back", -1)])
def test_bag_on_the_persons_left_is_on_the_image_right_from_the_front(view: str, image_side: int) -> None:
    base = _pixels(draw_person(PLAIN, view, 160))
    bag = _pixels(draw_person(_with("bag", "left"), view, 160))
    cols = np.flatnonzero((np.abs(base - bag).max(axis=2) > 0).any(axis=0))
    centre = base.shape[1] / 2
    assert np.sign(cols.mean() - centre) == image_side


def test_unknown_view_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown view"):
        draw_person(PLAIN, "top", 100)


@pytest.mark.parametrize(("attribute", "value", "visible"), VISIBILITY)
def test_details_survive_the_demo_resolution(attribute: str, value: str, visible: tuple[str, ...]) -> None:
    """At 64x32 through a camera (blur, tone curve) a look-alike's detail still changes pixels clearly."""
    profile = CameraProfile(
        camid=1, view_weights=(0.25, 0.25, 0.25, 0.25), scene="pavement", scene_seed=3, gain=0.9, gamma=1.1,
        contrast=0.9, cast=(1.05, 1.0, 0.95), blur=0.5, noise=3.0, scale=(0.85, 0.9), occlusion=0.0,
        jpeg_quality=90,
    )  # fmt: skip
    camera = Camera(profile, (64, 32))
    strong = []  # per visible view: pixels whose colour changes by more than 40 levels
    for view in visible:
        shot = Shot(view, 0.5, 0.85, 0.0, 0.0, 0.4, "none", 0)
        a = _pixels(camera.render(PLAIN, shot, np.random.default_rng(1)))
        b = _pixels(camera.render(_with(attribute, value), shot, np.random.default_rng(1)))
        strong.append(int((np.abs(a - b).max(axis=2) > 40).sum()))
    assert min(strong) >= 2 and max(strong) >= 8, strong
