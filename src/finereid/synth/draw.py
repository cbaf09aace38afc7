"""PIL drawing of one person figure (head, hair, torso, arms, legs, shoes, details) seen from one view.

Coordinates are fractions of the person's height (0 = top of head, 1 = soles), x = 0 on the body axis.
Front view: the person's left side is on the image right; back view: on the image left; the side views
`right` / `left` say which way the person faces on the image (facing right shows their right side).
"""

from __future__ import annotations

import math

from PIL import Image

from finereid.synth.attributes import Appearance
from finereid.synth.pen import PALETTE, Pen, Point, shade

VIEWS = ("front", "back", "left", "right")

_BUILD_WIDTH = {"slim": 0.86, "average": 1.0, "broad": 1.16}


def _torso_half_width(y: float, shoulder: float, hip: float) -> float:
    """Half-width of the front-view torso at height y (linear from shoulders at 0.2 to hips at 0.5)."""
    return shoulder + (hip - shoulder) * (y - 0.2) / 0.3


def _legs_front(pen: Pen, a: Appearance, bw: float, swing: float) -> None:
    """Legs, bottoms and shoes seen from the front or back."""
    skin, bottom = PALETTE[a.skin], PALETTE[a.bottom_colour]
    hip_hw = 0.094 * bw
    for s in (-1, 1):
        hip, ankle = (s * 0.047 * bw, 0.5), (s * 0.052 * bw + swing * s, 0.935)
        knee = (hip[0] + 0.4 * (ankle[0] - hip[0]), 0.68)
        if a.bottom_style != "trousers":
            pen.capsule([hip, ankle], 0.058 * bw, skin)
        if a.bottom_style == "trousers":
            pen.capsule([hip, ankle], 0.07 * bw, bottom)
        elif a.bottom_style == "shorts":
            pen.capsule([hip, knee], 0.074 * bw, bottom)
        pen.ellipse((ankle[0] + s * 0.004, 0.962), 0.044, 0.03, PALETTE[a.shoes])
    if a.bottom_style == "skirt":
        pen.poly([(-hip_hw, 0.46), (hip_hw, 0.46), (hip_hw + 0.05, 0.7), (-hip_hw - 0.05, 0.7)], bottom)
    else:
        pen.poly([(-hip_hw, 0.46), (hip_hw, 0.46), (hip_hw + 0.004, 0.56), (-hip_hw - 0.004, 0.56)], bottom)


def _arms_front(pen: Pen, a: Appearance, shoulder: float, bw: float, swing: float) -> None:
    """Both arms hanging at the sides: sleeve in the top colour, skin below a short sleeve, hands."""
    skin, top = PALETTE[a.skin], PALETTE[a.top_colour]
    for s in (-1, 1):
        pts = [
            (s * (shoulder - 0.02), 0.2),
            (s * (shoulder + 0.012), 0.345),
            (s * (shoulder + 0.006 + swing), 0.49),
        ]
        if a.sleeves == "short":
            pen.capsule(pts, 0.042 * bw, skin)
            pen.capsule([pts[0], (s * (shoulder + 0.004), 0.3)], 0.056 * bw, top)
        else:
            pen.capsule(pts, 0.05 * bw, top)
        pen.ellipse((pts[2][0], 0.512), 0.026, 0.028, skin)


def _head_front(pen: Pen, a: Appearance, back: bool) -> None:
    """Neck, head, hair, face, glasses and hat seen from the front or back."""
    skin, hair = PALETTE[a.skin], PALETTE[a.hair_colour]
    pen.capsule([(0.0, 0.13), (0.0, 0.178)], 0.046, skin)
    pen.ellipse((0.0, 0.078), 0.056, 0.07, skin)
    if back:
        if a.hair_style != "bald":
            pen.ellipse((0.0, 0.07), 0.058, 0.064 if a.hair_style == "short" else 0.07, hair)
    else:
        if a.hair_style != "bald":
            pen.ellipse((0.0, 0.062), 0.06, 0.058, hair)
            pen.ellipse((0.0, 0.092), 0.049, 0.056, skin)
        for s in (-1, 1):
            pen.ellipse((s * 0.02, 0.085), 0.006, 0.006, (30, 24, 20), outline=False)
        pen.line([(-0.012, 0.118), (0.012, 0.118)], 0.006, shade(skin, 0.6))
        if a.glasses != "none":
            for s in (-1, 1):
                pen.ellipse((s * 0.021, 0.085), 0.018, 0.012, (20, 20, 24), outline=False)
            pen.line([(-0.01, 0.083), (0.01, 0.083)], 0.006, (20, 20, 24))
    if a.hat != "none":
        hat = PALETTE[a.hat]
        pen.ellipse((0.0, 0.038), 0.062, 0.04, hat)
        if back:
            pen.poly([(-0.06, 0.04), (0.06, 0.04), (0.06, 0.058), (-0.06, 0.058)], shade(hat, 0.85))
        else:
            pen.ellipse((0.0, 0.06), 0.068, 0.014, shade(hat, 0.9))


def _bag_front(pen: Pen, a: Appearance, shoulder: float, lr: float, back: bool, bw: float) -> None:
    """Shoulder bag hanging at the hip of its side, or the backpack (straps in front, pack on the back)."""
    colour = PALETTE[a.bag_colour]
    if a.bag == "backpack":
        if back:
            pen.poly([(-0.085 * bw, 0.2), (0.085 * bw, 0.2), (0.09 * bw, 0.43), (-0.09 * bw, 0.43)], colour)
            pen.poly(
                [(-0.06 * bw, 0.33), (0.06 * bw, 0.33), (0.06 * bw, 0.41), (-0.06 * bw, 0.41)],
                shade(colour, 0.8),
            )
        else:
            for s in (-1, 1):
                pen.line([(s * (shoulder - 0.064), 0.172), (s * (shoulder - 0.052), 0.37)], 0.024, colour)
        return
    side = lr if a.bag == "left" else -lr
    x = side * (shoulder + 0.01)
    pen.line([(x + side * 0.03, 0.44), (side * (shoulder - 0.04), 0.172)], 0.016, shade(colour, 0.8))
    pen.poly([(x - 0.048, 0.43), (x + 0.048, 0.43), (x + 0.05, 0.545), (x - 0.05, 0.545)], colour)
    pen.line([(x - 0.048, 0.455), (x + 0.048, 0.455)], 0.008, shade(colour, 0.7))


def _draw_front_back(pen: Pen, a: Appearance, back: bool, phase: float) -> None:
    """Whole figure from the front (back=False) or from behind (back=True)."""
    bw = _BUILD_WIDTH[a.build]
    lr = -1.0 if back else 1.0  # image-x sign of the person's left side
    shoulder, hip = 0.118 * bw, 0.094 * bw
    swing = 0.012 * math.sin(phase)
    if a.hair_style == "long" and not back:
        pen.poly([(-0.066, 0.07), (0.066, 0.07), (0.076, 0.26), (-0.076, 0.26)], PALETTE[a.hair_colour])
    _legs_front(pen, a, bw, swing * 0.5)
    torso = [
        (-shoulder + 0.035, 0.165),
        (shoulder - 0.035, 0.165),
        (shoulder, 0.2),
        (hip + 0.004, 0.5),
        (-hip - 0.004, 0.5),
        (-shoulder, 0.2),
    ]
    pen.textured(torso, a, "plain" if back and a.top_texture == "jacket" else a.top_texture)
    if a.stripe != "none":
        y1, y2 = 0.3, 0.338
        w1, w2 = _torso_half_width(y1, shoulder, hip), _torso_half_width(y2, shoulder, hip)
        pen.poly([(-w1, y1), (w1, y1), (w2, y2), (-w2, y2)], PALETTE[a.stripe])
    if a.logo != "none" and not back:
        pen.poly(
            [
                (lr * 0.045 - 0.024, 0.232),
                (lr * 0.045 + 0.024, 0.232),
                (lr * 0.045 + 0.024, 0.28),
                (lr * 0.045 - 0.024, 0.28),
            ],
            PALETTE[a.logo],
        )
    if a.hair_style == "long" and back:
        pen.poly([(-0.062, 0.07), (0.062, 0.07), (0.07, 0.27), (-0.07, 0.27)], PALETTE[a.hair_colour])
    if a.bag == "backpack":
        _bag_front(pen, a, shoulder, lr, back, bw)
    _arms_front(pen, a, shoulder, bw, swing)
    _head_front(pen, a, back)
    if a.bag in ("left", "right"):
        _bag_front(pen, a, shoulder, lr, back, bw)


def _limb(hip: Point, angle: float, lengths: tuple[float, float], bend: float) -> list[Point]:
    """Two-segment limb hanging from `hip` at `angle` (radians from vertical, + = forward)."""
    (x, y), (l1, l2) = hip, lengths
    knee = (x + l1 * math.sin(angle), y + l1 * math.cos(angle))
    end = (knee[0] + l2 * math.sin(angle + bend), knee[1] + l2 * math.cos(angle + bend))
    return [hip, knee, end]


def _leg_side(pen: Pen, a: Appearance, angle: float, dim: float) -> None:
    """One leg in profile with its bottom and shoe; `dim` < 1 darkens the far leg."""
    skin, bottom = shade(PALETTE[a.skin], dim), shade(PALETTE[a.bottom_colour], dim)
    pts = _limb((0.0, 0.5), angle, (0.21, 0.225), -0.12 if angle > 0 else 0.05)
    if a.bottom_style != "trousers":
        pen.capsule(pts, 0.058, skin)
    if a.bottom_style == "trousers":
        pen.capsule(pts, 0.072, bottom)
    elif a.bottom_style == "shorts":
        pen.capsule(pts[:2], 0.076, bottom)
    ankle = pts[2]
    pen.ellipse((ankle[0] + 0.026, ankle[1] + 0.026), 0.056, 0.027, shade(PALETTE[a.shoes], dim))


def _arm_side(pen: Pen, a: Appearance, angle: float, dim: float) -> None:
    """One arm in profile swinging at `angle`; `dim` < 1 darkens the far arm."""
    skin, top = shade(PALETTE[a.skin], dim), shade(PALETTE[a.top_colour], dim)
    pts = _limb((0.0, 0.2), angle, (0.15, 0.14), 0.25)
    if a.sleeves == "short":
        pen.capsule(pts, 0.042, skin)
        pen.capsule([pts[0], (pts[0][0] + 0.5 * (pts[1][0] - pts[0][0]), 0.28)], 0.056, top)
    else:
        pen.capsule(pts, 0.05, top)
    pen.ellipse((pts[2][0] + 0.004, pts[2][1] + 0.018), 0.026, 0.028, skin)


def _head_side(pen: Pen, a: Appearance) -> None:
    """Neck, head in profile (nose to the right), hair, ear, glasses and cap."""
    skin, hair = PALETTE[a.skin], PALETTE[a.hair_colour]
    pen.capsule([(0.004, 0.13), (0.0, 0.178)], 0.046, skin)
    pen.ellipse((0.006, 0.078), 0.054, 0.07, skin)
    pen.poly([(0.05, 0.066), (0.07, 0.094), (0.048, 0.1)], skin)
    if a.hair_style != "bald":
        pen.ellipse((-0.01, 0.064), 0.056, 0.062, hair)
        pen.ellipse((0.016, 0.09), 0.044, 0.056, skin, outline=False)
    pen.ellipse((-0.006, 0.086), 0.011, 0.015, shade(skin, 0.92))
    pen.ellipse((0.033, 0.082), 0.006, 0.006, (30, 24, 20), outline=False)
    if a.glasses != "none":
        pen.poly(
            [(0.026, 0.072), (0.054, 0.072), (0.054, 0.094), (0.026, 0.094)], (20, 20, 24), outline=False
        )
        pen.line([(0.028, 0.078), (-0.004, 0.08)], 0.007, (20, 20, 24))
    if a.hat != "none":
        hat = PALETTE[a.hat]
        pen.ellipse((-0.004, 0.038), 0.06, 0.04, hat)
        pen.poly([(0.02, 0.048), (0.108, 0.054), (0.108, 0.066), (0.02, 0.066)], shade(hat, 0.9))


def _draw_side(pen: Pen, a: Appearance, near: str, phase: float) -> None:
    """Whole figure in profile facing image-right; `near` is the body side ("left"/"right") seen."""
    depth = 0.07 * _BUILD_WIDTH[a.build]
    swing = 0.36 * math.sin(phase)
    bag = PALETTE[a.bag_colour]
    _arm_side(pen, a, 0.9 * swing, 0.78)
    _leg_side(pen, a, swing, 0.8)
    if a.bag == "backpack":
        pen.poly(
            [(-depth - 0.09, 0.2), (-depth + 0.01, 0.19), (-depth + 0.01, 0.43), (-depth - 0.085, 0.43)], bag
        )
    elif a.bag not in ("none", near):  # far-side shoulder bag: mostly hidden behind the body
        pen.poly([(-0.05, 0.43), (0.03, 0.43), (0.03, 0.54), (-0.05, 0.54)], shade(bag, 0.8))
    _leg_side(pen, a, -swing, 1.0)
    bottom = PALETTE[a.bottom_colour]
    if a.bottom_style == "skirt":
        pen.poly([(-depth, 0.46), (depth, 0.46), (depth + 0.05, 0.7), (-depth - 0.05, 0.7)], bottom)
    else:
        pen.poly([(-depth, 0.46), (depth * 0.9, 0.46), (depth * 0.8, 0.57), (-depth * 0.9, 0.57)], bottom)
    torso = [
        (-depth * 0.8, 0.165),
        (depth * 0.5, 0.165),
        (depth * 1.05, 0.24),
        (depth * 0.9, 0.5),
        (-depth * 0.95, 0.5),
        (-depth * 1.05, 0.22),
    ]
    pen.textured(torso, a, "plain" if a.top_texture == "jacket" else a.top_texture)
    if a.stripe != "none":
        pen.poly(
            [(-depth * 1.02, 0.3), (depth * 1.0, 0.3), (depth * 0.99, 0.338), (-depth * 1.0, 0.338)],
            PALETTE[a.stripe],
        )
    if a.hair_style == "long":
        pen.poly([(-0.064, 0.06), (-0.01, 0.06), (-0.03, 0.26), (-0.078, 0.25)], PALETTE[a.hair_colour])
    if a.bag == "backpack":
        pen.line([(-0.01, 0.172), (0.03, 0.36)], 0.022, bag)
    _head_side(pen, a)
    if a.bag == near:
        pen.line([(0.0, 0.18), (-0.01, 0.44)], 0.016, shade(bag, 0.8))
        pen.poly([(-0.055, 0.43), (0.045, 0.43), (0.048, 0.545), (-0.058, 0.545)], bag)
    _arm_side(pen, a, -0.9 * swing, 1.0)


def draw_person(a: Appearance, view: str, height_px: int, phase: float = 0.0) -> Image.Image:
    """Draw `a` seen from `view` as an RGBA image (transparent background) `height_px` tall figure.

    The image is about 0.6 x height_px wide with the body axis at its centre and a small margin above
    and below; `phase` (radians) sets the walking pose (stride, arm swing).
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; valid: {', '.join(VIEWS)}")
    margin = max(2, math.ceil(0.03 * height_px))
    image = Image.new("RGBA", (round(0.6 * height_px), height_px + 2 * margin), (0, 0, 0, 0))
    pen = Pen(image, height_px)
    if view in ("front", "back"):
        _draw_front_back(pen, a, view == "back", phase)
        return image
    # Side views are drawn facing right; facing left is the mirror image, showing the left side.
    _draw_side(pen, a, "right" if view == "right" else "left", phase)
    return image if view == "right" else image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
