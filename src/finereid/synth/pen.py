"""Drawing primitives in body units: the colour palette and a pen that outlines every shape.

Coordinates are fractions of the person's height (0 = top of head, 1 = soles), x = 0 on the body axis.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw

from finereid.synth.attributes import Appearance

PALETTE: dict[str, tuple[int, int, int]] = {
    # skin
    "pale": (250, 222, 196), "light": (234, 186, 148), "tan": (200, 146, 102),
    "brown": (122, 76, 42), "dark": (92, 60, 40),
    # hair
    "darkbrown": (62, 42, 28), "blonde": (222, 190, 110), "auburn": (150, 62, 30),
    # clothes and details
    "black": (28, 28, 32), "white": (238, 238, 236), "grey": (128, 128, 130), "navy": (26, 36, 92),
    "blue": (36, 88, 210), "skyblue": (120, 180, 232), "red": (210, 28, 28), "maroon": (112, 22, 36),
    "green": (36, 150, 60), "olive": (112, 116, 44), "yellow": (240, 210, 36), "orange": (244, 130, 28),
    "purple": (112, 48, 152), "pink": (238, 140, 182), "beige": (214, 194, 158),
}  # fmt: skip
# "brown" is shared by skin, hair and clothes (one RGB is fine for all three).

Point = tuple[float, float]


def shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    """Darken (factor < 1) or lighten (factor > 1) a colour, clipped to 0..255."""
    return tuple(min(255, max(0, round(c * factor))) for c in rgb)  # type: ignore[return-value]


class Pen:
    """Draws body-unit shapes on a layer, each with a darker outline so parts read apart."""

    def __init__(self, image: Image.Image, height: int) -> None:
        self.img = image
        self.draw = ImageDraw.Draw(image)
        self.h = height
        self.cx = image.width / 2
        self.y0 = (image.height - height) / 2
        self.ow = max(1, round(height / 90))  # outline width in px

    def p(self, x: float, y: float) -> Point:
        """Body units -> image pixels."""
        return (self.cx + x * self.h, self.y0 + y * self.h)

    def px(self, v: float) -> float:
        """A length in body units -> pixels, at least one."""
        return max(1.0, v * self.h)

    def poly(self, pts: list[Point], rgb: tuple[int, int, int], outline: bool = True) -> None:
        """Filled polygon."""
        xy = [self.p(x, y) for x, y in pts]
        self.draw.polygon(
            xy, fill=rgb, outline=shade(rgb, 0.55) if outline else None, width=self.ow if outline else 0
        )

    def ellipse(
        self, c: Point, rx: float, ry: float, rgb: tuple[int, int, int], outline: bool = True
    ) -> None:
        """Filled ellipse with centre c and radii rx, ry."""
        (x, y), a, b = self.p(*c), rx * self.h, ry * self.h
        box = (x - a, y - b, x + max(a, 0.5), y + max(b, 0.5))
        self.draw.ellipse(
            box, fill=rgb, outline=shade(rgb, 0.55) if outline else None, width=self.ow if outline else 0
        )

    def capsule(
        self, pts: list[Point], width: float, rgb: tuple[int, int, int], outline: bool = True
    ) -> None:
        """A limb: polyline with round ends, outline drawn as a wider dark capsule underneath."""
        if outline:
            self._capsule(pts, width * self.h + 2 * self.ow, shade(rgb, 0.55))
        self._capsule(pts, width * self.h, rgb)

    def _capsule(self, pts: list[Point], w: float, rgb: tuple[int, int, int]) -> None:
        xy = [self.p(x, y) for x, y in pts]
        self.draw.line(xy, fill=rgb, width=max(1, round(w)), joint="curve")
        r = w / 2
        for x, y in (xy[0], xy[-1]):
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=rgb)

    def line(self, pts: list[Point], width: float, rgb: tuple[int, int, int]) -> None:
        """Polyline without outline (straps, glasses, mouth)."""
        self.draw.line([self.p(x, y) for x, y in pts], fill=rgb, width=max(1, round(width * self.h)))

    def textured(self, pts: list[Point], a: Appearance, texture: str) -> None:
        """Fill a clothing polygon with the top's colour and texture (stripes, checks, open jacket)."""
        c1, c2 = PALETTE[a.top_colour], PALETTE[a.top_colour2]
        self.poly(pts, c1)
        if texture == "plain":
            return
        pattern = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
        pd = ImageDraw.Draw(pattern)
        (left, top), (right, bottom) = self.p(-0.3, 0.1), self.p(0.3, 0.6)
        step = self.px(0.045)
        if texture == "vstripes":
            x = left
            while x < right:
                pd.rectangle((x, top, x + step * 0.45, bottom), fill=c2)
                x += step
        elif texture == "checks":
            for i in range(int((bottom - top) / step) + 1):
                for j in range(int((right - left) / step) + 1):
                    if (i + j) % 2:
                        x0, y0 = left + j * step, top + i * step
                        pd.rectangle((x0, y0, x0 + step - 1, y0 + step - 1), fill=c2)
        elif texture == "jacket":  # open jacket over a shirt of the second colour, seen from the front
            pd.polygon(
                [self.p(-0.035, 0.17), self.p(0.035, 0.17), self.p(0.045, 0.5), self.p(-0.045, 0.5)], fill=c2
            )
        inside = Image.new("L", self.img.size, 0)
        ImageDraw.Draw(inside).polygon([self.p(x, y) for x, y in pts], fill=255, outline=0, width=self.ow)
        self.img.paste(pattern, (0, 0), ImageChops.darker(pattern.getchannel("A"), inside))
