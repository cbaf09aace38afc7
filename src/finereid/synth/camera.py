"""Per-camera effects: viewpoint mix, static scene, illumination and colour cast, scale and crop jitter,
blur, noise, partial occlusion and JPEG quality.

Each camera is a fixed `CameraProfile`; each picture is one `Shot` of a person (or of no one) through
it, rendered at twice the output size and downscaled so edges are anti-aliased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from finereid.synth.attributes import Appearance
from finereid.synth.draw import VIEWS, draw_person
from finereid.synth.pen import shade

SUPERSAMPLE = 2
SCENES = ("pavement", "park", "indoor", "brick", "road", "station")
OCCLUDERS = ("pole", "box", "bush")
# Viewpoint mixes (probabilities of front, back, left, right), dealt to cameras in a seeded order.
VIEW_MIXES = (
    (0.7, 0.1, 0.1, 0.1),
    (0.1, 0.7, 0.1, 0.1),
    (0.1, 0.1, 0.4, 0.4),
    (0.4, 0.4, 0.1, 0.1),
    (0.15, 0.15, 0.55, 0.15),
    (0.25, 0.25, 0.25, 0.25),
)
_HEIGHT_FACTOR = {"short": 0.92, "medium": 0.96, "tall": 1.0}


@dataclass(frozen=True)
class CameraProfile:
    """What one camera does to every picture it takes."""

    camid: int
    view_weights: tuple[float, float, float, float]
    scene: str
    scene_seed: int
    gain: float
    gamma: float
    contrast: float
    cast: tuple[float, float, float]
    blur: float
    noise: float
    scale: tuple[float, float]
    occlusion: float
    jpeg_quality: int


@dataclass(frozen=True)
class Shot:
    """One picture through a camera: where the person stands, how big, pose, and any occluder."""

    view: str  # one of draw.VIEWS
    phase: float  # walking pose, radians
    scale: float  # figure height / image height (before the identity's own height factor)
    dx: float  # horizontal shift of the body axis, fraction of the width
    dy: float  # vertical shift of the feet, fraction of the height (> 0.015 cuts the feet)
    pan: float  # where in the camera's wide scene the picture is taken, 0..1
    occluder: str  # one of OCCLUDERS or "none"
    occluder_seed: int


def sample_cameras(num_cameras: int, rng: np.random.Generator) -> list[CameraProfile]:
    """Draw `num_cameras` profiles; viewpoint mixes and scenes are dealt so cameras differ."""
    mixes = rng.permutation(len(VIEW_MIXES))
    scenes = rng.permutation(len(SCENES))
    cams = []
    for i in range(num_cameras):
        lo = float(rng.uniform(0.7, 0.86))
        cams.append(
            CameraProfile(
                camid=i + 1,
                view_weights=VIEW_MIXES[int(mixes[i % len(mixes)])],
                scene=SCENES[int(scenes[i % len(scenes)])],
                scene_seed=int(rng.integers(2**31)),
                gain=float(rng.uniform(0.65, 1.15)),
                gamma=float(rng.uniform(0.8, 1.25)),
                contrast=float(rng.uniform(0.75, 1.1)),
                cast=tuple(float(c) for c in rng.uniform(0.85, 1.15, size=3)),  # type: ignore[arg-type]
                blur=float(rng.uniform(0.0, 0.8)),
                noise=float(rng.uniform(1.0, 6.0)),
                scale=(lo, min(0.97, lo + 0.1)),
                occlusion=float(rng.uniform(0.05, 0.3)),
                jpeg_quality=int(rng.integers(70, 96)),
            )
        )
    return cams


def sample_shot(
    cam: CameraProfile, rng: np.random.Generator, view: str | None = None, scale: float | None = None
) -> Shot:
    """A random shot through `cam`; pass `view` / `scale` to keep them from an earlier frame."""
    if view is None:
        view = VIEWS[int(rng.choice(len(VIEWS), p=np.array(cam.view_weights) / sum(cam.view_weights)))]
    base = float(rng.uniform(*cam.scale)) if scale is None else scale
    occluded = rng.random() < cam.occlusion
    return Shot(
        view=view,
        phase=float(rng.uniform(0, 2 * np.pi)),
        scale=base * float(rng.uniform(0.96, 1.04)),
        dx=float(rng.uniform(-0.08, 0.08)),
        dy=float(rng.uniform(-0.05, 0.04)),
        pan=float(rng.random()),
        occluder=OCCLUDERS[int(rng.integers(len(OCCLUDERS)))] if occluded else "none",
        occluder_seed=int(rng.integers(2**31)),
    )


def _scene(cam: CameraProfile, width: int, height: int) -> Image.Image:
    """The camera's static background: a wall or trees above the horizon, a floor or road below it."""
    rng = np.random.default_rng(cam.scene_seed)
    img = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(img)
    hz = round(height * rng.uniform(0.32, 0.5))

    def jitter(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
        return shade(rgb, float(rng.uniform(0.85, 1.15)))

    if cam.scene == "park":
        d.rectangle((0, 0, width, hz), fill=jitter((150, 190, 225)))
        for _ in range(width // 14):
            x, r = rng.uniform(0, width), rng.uniform(0.08, 0.18) * height
            d.rectangle((x - r * 0.1, hz - r, x + r * 0.1, hz + 2), fill=jitter((90, 64, 40)))
            d.ellipse((x - r, hz - 2.4 * r, x + r, hz - 0.6 * r), fill=jitter((52, 104, 48)))
        d.rectangle((0, hz, width, height), fill=jitter((92, 150, 70)))
        d.polygon(
            [(width * 0.3, hz), (width * 0.5, hz), (width * 0.8, height), (0, height)],
            fill=jitter((200, 184, 150)),
        )
    elif cam.scene == "indoor":
        d.rectangle((0, 0, width, hz), fill=jitter((222, 214, 196)))
        for x in np.arange(rng.uniform(0, 60), width, rng.uniform(70, 120)):
            d.rectangle((x, hz * 0.25, x + 34, hz), fill=jitter((150, 110, 80)), outline=(90, 70, 50))
        d.rectangle((0, hz, width, height), fill=jitter((168, 124, 84)))
        for y in np.linspace(hz, height, 7):
            d.line((0, y, width, y), fill=(130, 92, 60), width=1)
    elif cam.scene == "brick":
        d.rectangle((0, 0, width, hz), fill=jitter((150, 70, 52)))
        row = max(4, height // 28)
        for i, y in enumerate(range(0, hz, row)):
            d.line((0, y, width, y), fill=(200, 190, 180), width=1)
            for x in range(-(i % 2) * row, width, 2 * row):
                d.line((x, y, x, y + row), fill=(200, 190, 180), width=1)
        d.rectangle((0, hz, width, height), fill=jitter((70, 70, 74)))
    elif cam.scene == "road":
        d.rectangle((0, 0, width, hz), fill=jitter((190, 180, 170)))
        for x in np.arange(8, width, 40):
            for y in np.arange(6, hz - 14, 30):
                d.rectangle((x, y, x + 20, y + 16), fill=jitter((70, 90, 110)))
        d.rectangle((0, hz, width, height), fill=jitter((84, 84, 88)))
        y = hz + (height - hz) * 0.45
        for x in range(0, width, 50):
            d.rectangle((x, y, x + 28, y + 4), fill=(230, 220, 120))
    elif cam.scene == "station":
        d.rectangle((0, 0, width, hz), fill=jitter((120, 150, 160)))
        for x in np.arange(rng.uniform(0, 30), width, 90):
            d.rectangle((x, hz * 0.15, x + 14, hz), fill=jitter((210, 210, 205)))
        d.rectangle((0, hz, width, height), fill=jitter((176, 170, 150)))
        tile = max(6, height // 12)
        for i, y in enumerate(range(hz, height, tile)):
            for x in range((i % 2) * tile, width, 2 * tile):
                d.rectangle((x, y, x + tile - 1, y + tile - 1), fill=(150, 146, 128))
    else:  # pavement
        d.rectangle((0, 0, width, hz), fill=jitter((196, 196, 200)))
        for x in np.arange(0, width, rng.uniform(40, 70)):
            d.line((x, 0, x, hz), fill=(160, 160, 166), width=2)
        d.rectangle((0, hz, width, height), fill=jitter((150, 148, 144)))
        for t in np.linspace(0, 1, 8) ** 1.6:
            d.line((0, hz + t * (height - hz), width, hz + t * (height - hz)), fill=(120, 118, 116), width=1)
        for x in np.arange(-width, 2 * width, 36):
            d.line((width / 2 + (x - width / 2) * 0.3, hz, x, height), fill=(120, 118, 116), width=1)
    pixels = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, size=(height, width, 1))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _occlude(img: Image.Image, kind: str, seed: int) -> None:
    """Draw a pole, a box (car, bench, bin) or a bush in front of the person, in place."""
    rng = np.random.default_rng(seed)
    w, h = img.size
    d = ImageDraw.Draw(img)
    colour = tuple(int(c) for c in rng.integers(30, 220, size=3))
    if kind == "pole":
        x, pw = rng.uniform(0.1, 0.9) * w, rng.uniform(0.07, 0.14) * w
        d.rectangle((x - pw / 2, 0, x + pw / 2, h), fill=shade(colour, 0.6), outline=shade(colour, 0.4))
        d.rectangle((x - pw / 4, 0, x - pw / 8, h), fill=shade(colour, 0.8))
    elif kind == "box":
        top, from_left = h * (1 - rng.uniform(0.15, 0.35)), rng.random() < 0.5
        span = rng.uniform(0.4, 1.0) * w
        x0, x1 = (0, span) if from_left else (w - span, w)
        d.rounded_rectangle(
            (x0, top, x1, h + 10), radius=max(2, w // 12), fill=colour, outline=shade(colour, 0.5)
        )
    elif kind == "bush":
        for _ in range(int(rng.integers(4, 8))):
            x, r = rng.uniform(0, w), rng.uniform(0.12, 0.25) * w
            y = h - rng.uniform(0.0, 0.18) * h
            d.ellipse(
                (x - r, y - r, x + r, y + r), fill=(int(rng.integers(30, 70)), int(rng.integers(90, 150)), 40)
            )


class Camera:
    """Renders shots through one camera at a fixed output size (height, width)."""

    def __init__(self, profile: CameraProfile, size: tuple[int, int]) -> None:
        self.profile = profile
        self.height, self.width = size
        self.scene = _scene(profile, 3 * SUPERSAMPLE * self.width, SUPERSAMPLE * self.height)
        self.lut = _tone_lut(profile)

    def render(self, person: Appearance | None, shot: Shot, rng: np.random.Generator) -> Image.Image:
        """One RGB picture of `person` (None: background only) as `shot` through this camera."""
        img = self.compose(person, shot).reduce(SUPERSAMPLE)
        if self.profile.blur > 0.05:
            img = img.filter(ImageFilter.GaussianBlur(self.profile.blur))
        return self._photometric(img, rng)

    def compose(self, person: Appearance | None, shot: Shot) -> Image.Image:
        """Scene, person and any occluder at SUPERSAMPLE x the output size, before optics and noise."""
        W2, H2 = SUPERSAMPLE * self.width, SUPERSAMPLE * self.height
        x0 = round(shot.pan * (self.scene.width - W2))
        canvas = self.scene.crop((x0, 0, x0 + W2, H2))
        if person is not None:
            h = max(8, round(shot.scale * _HEIGHT_FACTOR[person.height] * H2))
            layer = draw_person(person, shot.view, h, shot.phase)
            margin = (layer.height - h) // 2
            feet, cx = H2 * (0.985 + shot.dy), W2 * (0.5 + shot.dx)
            shadow = Image.new("L", canvas.size, 0)
            ImageDraw.Draw(shadow).ellipse(
                (cx - 0.16 * h, feet - 0.025 * h, cx + 0.16 * h, feet + 0.02 * h), fill=90
            )
            canvas.paste((0, 0, 0), (0, 0), shadow)
            canvas.paste(layer, (round(cx - layer.width / 2), round(feet - margin - h)), layer)
        if shot.occluder != "none":
            _occlude(canvas, shot.occluder, shot.occluder_seed)
        return canvas

    def _photometric(self, img: Image.Image, rng: np.random.Generator) -> Image.Image:
        """Illumination and colour cast (one per-channel lookup table), then sensor noise."""
        rgb = np.asarray(img)
        x = np.stack([self.lut[c][rgb[..., c]] for c in range(3)], axis=-1).astype(np.int16)
        noise = rng.standard_normal(size=x.shape, dtype=np.float32) * self.profile.noise
        return Image.fromarray(np.clip(x + np.rint(noise).astype(np.int16), 0, 255).astype(np.uint8))


def _tone_lut(p: CameraProfile) -> np.ndarray:
    """(3, 256) uint8 table per channel: gamma, contrast, gain and colour cast in one lookup."""
    v = np.arange(256, dtype=np.float64) / 255.0
    base = (v**p.gamma - 0.5) * p.contrast + 0.5
    return np.stack([np.clip(np.rint(base * p.gain * c * 255.0), 0, 255) for c in p.cast]).astype(np.uint8)
