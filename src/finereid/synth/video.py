"""A synthetic tracking sequence: finereid's synthetic people walking along known tracks in one scene.

People walk left or right on lanes at different depths, cross and occlude each other, pass behind a
pillar, and some turn back while hidden (a motion model alone then guesses wrong; appearance helps).
Written in the MOT Challenge layout, so BoxMOT and MOT tools read it:

    SEQ/img1/000001.jpg ...       frames
    SEQ/gt/gt.txt                 frame, id, x, y, w, h, 1, 1, visibility (every person in view)
    SEQ/det/det.txt               frame, -1, x, y, w, h, confidence, -1, -1, -1 (visibility >= MIN_VISIBLE)
    SEQ/seqinfo.ini
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from finereid.errors import ConfigError
from finereid.synth.attributes import Appearance, sample_appearance
from finereid.synth.draw import draw_person

MIN_VISIBLE = 0.4  # a person less visible than this is not detected
STRIDE = 0.45  # walking phase advances 2 pi per STRIDE x height pixels walked


@dataclass(frozen=True)
class Walker:
    """One person: appearance, lane (foot y), start frame, start x, speed (px/frame, signed), turn frame."""

    pid: int
    appearance: Appearance
    foot_y: float
    start: int
    x0: float
    speed: float
    turn: int | None

    def x_at(self, frame: int) -> float:
        """Horizontal centre at `frame` (walks back at the same speed after `turn`)."""
        t = frame - self.start
        if self.turn is None or frame <= self.turn:
            return self.x0 + self.speed * t
        return self.x0 + self.speed * (self.turn - self.start) - self.speed * (frame - self.turn)

    def facing(self, frame: int) -> str:
        """The side view matching the walking direction."""
        forward = self.turn is None or frame <= self.turn
        return "right" if (self.speed > 0) == forward else "left"


def plan_walkers(num_people: int, num_frames: int, width: int, height: int, seed: int) -> list[Walker]:
    """Lanes, directions and timing so that people cross, overlap, pass the pillar and some turn back."""
    rng = np.random.default_rng(seed)
    walkers = []
    for pid in range(1, num_people + 1):
        right = pid % 2 == 1
        speed = float(rng.uniform(0.006, 0.012) * width) * (1 if right else -1)
        start = int(rng.integers(0, max(1, num_frames // 3)))
        x0 = float(rng.uniform(0.0, 0.25) * width) if right else float(rng.uniform(0.75, 1.0) * width)
        turn = start + int(rng.integers(num_frames // 4, num_frames // 2)) if rng.random() < 0.4 else None
        foot_y = float(rng.uniform(0.7, 0.95) * height)
        walkers.append(Walker(pid, sample_appearance(rng), foot_y, start, x0, speed, turn))
    return walkers


def _background(width: int, height: int, seed: int) -> Image.Image:
    """A street: sky-to-pavement gradient with a few fixed shop fronts."""
    rng = np.random.default_rng(seed + 7)
    ramp = np.linspace(0, 1, height)[:, None, None]
    top, bottom = np.array([176, 186, 196]), np.array([120, 116, 108])
    pixels = (top + (bottom - top) * ramp) * np.ones((1, width, 1))
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(5):
        x = int(rng.integers(0, width))
        w, h = int(rng.integers(width // 10, width // 4)), int(rng.integers(height // 5, height // 2))
        draw.rectangle(
            [x, int(0.6 * height) - h, x + w, int(0.6 * height)], fill=tuple(rng.integers(60, 200, 3))
        )
    return image


def _pillar(width: int, height: int) -> tuple[int, int, int, int]:
    """The occluder in front of everyone: a pillar a little right of the centre."""
    return int(0.52 * width), int(0.1 * height), int(0.6 * width), height


def render_frame(
    walkers: list[Walker], frame: int, background: Image.Image, person_height: int
) -> tuple[Image.Image, list[tuple[int, list[float], float]]]:
    """The frame and (pid, [x1, y1, x2, y2], visibility) of every person in view."""
    image, (width, height) = background.copy(), background.size
    owner = np.zeros((height, width), dtype=np.int32)  # who is seen at each pixel (0 = background)
    placed = []
    for w in sorted(walkers, key=lambda w: w.foot_y):  # far (higher up) first, near ones drawn over them
        if frame < w.start:
            continue
        scale = person_height * (0.75 + 0.5 * (w.foot_y / height - 0.7) / 0.25)
        phase = 2 * np.pi * abs(w.x_at(frame) - w.x0) / (STRIDE * scale)
        sprite = draw_person(w.appearance, w.facing(frame), round(scale), float(phase))
        left, top = round(w.x_at(frame) - sprite.width / 2), round(w.foot_y - sprite.height)
        if left >= width or left + sprite.width <= 0:
            continue
        image.paste(sprite, (left, top), sprite)
        alpha = np.zeros((height, width), dtype=bool)
        region = np.asarray(sprite.getchannel("A")) > 0
        ys, xs = (
            slice(max(0, top), min(height, top + sprite.height)),
            slice(max(0, left), min(width, left + sprite.width)),
        )
        alpha[ys, xs] = region[ys.start - top : ys.stop - top, xs.start - left : xs.stop - left]
        owner[alpha] = w.pid
        placed.append((w.pid, alpha))
    x1, y1, x2, y2 = _pillar(width, height)
    ImageDraw.Draw(image).rectangle([x1, y1, x2, y2], fill=(92, 88, 84))
    owner[y1:y2, x1:x2] = 0
    people = []
    for pid, alpha in placed:
        area = int(alpha.sum())
        if area == 0:
            continue
        ys, xs = np.nonzero(alpha)
        box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
        people.append((pid, box, float((owner[alpha] == pid).sum()) / area))
    return image, people


def write_sequence(
    out: str | Path,
    num_people: int = 8,
    num_frames: int = 120,
    size: tuple[int, int] = (640, 360),
    seed: int = 0,
    person_height: int | None = None,
) -> Path:
    """Render a sequence into `out` (MOT layout, replacing one there); detections: gt boxes plus noise."""
    width, height = size
    if num_people < 1 or num_frames < 2 or min(size) < 32:
        raise ConfigError(
            f"need >= 1 person, >= 2 frames and a frame of >= 32 px, got {num_people}, {num_frames}, {size}"
        )
    out = Path(out)
    (out / "img1").mkdir(parents=True, exist_ok=True)
    for old in (out / "img1").glob("*.jpg"):  # a longer earlier sequence must not leave frames behind
        old.unlink()
    (out / "gt").mkdir(exist_ok=True)
    (out / "det").mkdir(exist_ok=True)
    walkers = plan_walkers(num_people, num_frames, width, height, seed)
    background = _background(width, height, seed)
    rng = np.random.default_rng(seed + 1)
    gt_rows, det_rows = [], []
    for frame in range(1, num_frames + 1):
        image, people = render_frame(walkers, frame, background, person_height or round(0.38 * height))
        image.save(out / "img1" / f"{frame:06d}.jpg", quality=92)
        for pid, (x1, y1, x2, y2), visible in people:
            gt_rows.append(f"{frame},{pid},{x1:.1f},{y1:.1f},{x2 - x1:.1f},{y2 - y1:.1f},1,1,{visible:.3f}")
            if visible >= MIN_VISIBLE:
                j = rng.normal(0, 1.0, 4)
                box = (x1 + j[0], y1 + j[1], x2 - x1 + j[2], y2 - y1 + j[3])
                det_rows.append(
                    f"{frame},-1,{box[0]:.1f},{box[1]:.1f},{box[2]:.1f},{box[3]:.1f},0.9,-1,-1,-1"
                )
    (out / "gt" / "gt.txt").write_text("\n".join(gt_rows) + "\n", encoding="utf-8")
    (out / "det" / "det.txt").write_text("\n".join(det_rows) + "\n", encoding="utf-8")
    info = (
        f"[Sequence]\nname={out.name}\nimDir=img1\nframeRate=25\nseqLength={num_frames}\n"
        f"imWidth={width}\nimHeight={height}\nimExt=.jpg\n"
    )
    (out / "seqinfo.ini").write_text(info, encoding="utf-8")
    return out
