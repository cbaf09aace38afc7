"""Pictures of activation maps: a map laid over its image, and a sheet of query/gallery pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

COLORMAP = "turbo"  # low = blue, high = red
MAX_ALPHA = 0.65  # the heat covers the image this much where the map is 1, not at all where it is 0


def resize_map(activation_map: np.ndarray, height: int, width: int) -> np.ndarray:
    """A [h, w] map in [0, 1] resized (bilinear) to [height, width]."""
    if activation_map.shape == (height, width):
        return activation_map.astype(np.float32, copy=False)
    image = Image.fromarray(activation_map.astype(np.float32), mode="F")
    return np.clip(np.asarray(image.resize((width, height), Image.Resampling.BILINEAR)), 0.0, 1.0)


def overlay(image: np.ndarray, activation_map: np.ndarray) -> Image.Image:
    """The map, coloured, over the uint8 RGB image [h, w, 3], at the image's own size.

    The heat is blended in proportion to the map, so an all-zero map leaves the image as it is.
    """
    height, width = image.shape[:2]
    weight = resize_map(activation_map, height, width)
    heat = colormaps[COLORMAP](weight)[..., :3] * 255.0
    alpha = (MAX_ALPHA * weight)[..., None]
    mixed = image.astype(np.float32) * (1.0 - alpha) + heat * alpha
    return Image.fromarray(np.clip(np.rint(mixed), 0, 255).astype(np.uint8))


def sheet(
    rows: Sequence[Sequence[Image.Image]],
    captions: Sequence[str],
    title: str = "",
    cell: tuple[int, int] = (128, 64),
    headers: Sequence[str] = (),
) -> Image.Image:
    """Rows of pictures resized to `cell` (height, width), a caption right of each row, column headers.

    Headers and captions may hold several lines; the caption column is as wide as its longest line.
    """
    font = ImageFont.load_default(size=12)
    columns = max((len(r) for r in rows), default=0)
    pad, line = 6, 16
    header_lines = max((len(h.splitlines()) for h in headers), default=0)
    top = pad + (line * len(title.splitlines()) if title else 0) + line * header_lines
    caption_lines = [text for caption in captions for text in caption.splitlines()]
    caption_width = max([260, *(int(font.getlength(text)) + 2 * pad for text in caption_lines)])
    width = max(pad + columns * (cell[1] + pad) + caption_width,
                *(int(font.getlength(text)) + 2 * pad for text in title.splitlines()))  # fmt: skip
    step = max([cell[0], *(line * len(caption.splitlines()) for caption in captions)]) + pad  # one row
    height = top + len(rows) * step + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(title.splitlines()):
        draw.text((pad, pad + i * line), text, fill="black", font=font)
    for c, header in enumerate(headers):
        for i, text in enumerate(header.splitlines()):
            draw.text(
                (pad + c * (cell[1] + pad), top - line * (header_lines - i)), text, fill="black", font=font
            )
    for r, row in enumerate(rows):
        y = top + r * step
        for c, picture in enumerate(row):
            canvas.paste(
                picture.convert("RGB").resize((cell[1], cell[0]), Image.Resampling.BILINEAR),
                (pad + c * (cell[1] + pad), y),
            )
        if r < len(captions):
            for i, text in enumerate(captions[r].splitlines()):
                draw.text((pad + columns * (cell[1] + pad), y + i * line), text, fill="black", font=font)
    return canvas
