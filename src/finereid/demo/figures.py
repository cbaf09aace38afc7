"""The demo's pictures: CMC curves of several runs (matplotlib) and ranked-result grids (Pillow).

A ranked grid has one row per query: a label, the query image in a blue frame, then its top-k gallery
images framed green (same person) or red (another person), each with its pid underneath.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from finereid.errors import FinereidError
from finereid.reports import plots
from finereid.reports.plots import MAX_CMC_RANK

GREEN = (30, 160, 60)
RED = (215, 35, 35)
BLUE = (40, 90, 220)
EMPTY = (205, 205, 205)
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)


@dataclass(frozen=True)
class GridRow:
    """One query and its ranked gallery: image paths, match flags, and the text shown around them."""

    query_path: str
    gallery_paths: Sequence[str]
    matches: Sequence[bool]
    label: Sequence[str] = ()  # lines left of the query
    captions: Sequence[str] = ()  # one per gallery image, under it

    def __post_init__(self) -> None:
        """Reject rows whose flags or captions do not line up with the gallery images."""
        if len(self.matches) != len(self.gallery_paths):
            raise FinereidError(
                f"grid row: {len(self.gallery_paths)} gallery images but {len(self.matches)} match flags"
            )
        if self.captions and len(self.captions) != len(self.gallery_paths):
            raise FinereidError(
                f"grid row: {len(self.gallery_paths)} gallery images but {len(self.captions)} captions"
            )


@dataclass(frozen=True)
class GridLayout:
    """Pixel sizes of a ranked grid; every image is resized to cell_height x cell_width."""

    cell_height: int = 128
    cell_width: int = 64
    border: int = 4  # coloured frame around each image
    gap: int = 4  # between gallery cells
    query_gap: int = 16  # between the query and its first result
    label_width: int = 112
    caption_height: int = 16
    row_gap: int = 8
    margin: int = 8
    title_height: int = 40
    font_size: int = 12

    def size(self, num_rows: int, top_k: int) -> tuple[int, int]:
        """(width, height) of a grid with `num_rows` queries and `top_k` results each."""
        framed_w = self.cell_width + 2 * self.border
        row_h = self.cell_height + 2 * self.border + self.caption_height
        width = 2 * self.margin + self.label_width + framed_w * (top_k + 1) + self.query_gap
        width += self.gap * max(0, top_k - 1)
        height = 2 * self.margin + self.title_height + num_rows * row_h + self.row_gap * max(0, num_rows - 1)
        return width, height

    def frame_box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the framed cell; col 0 is the query, 1..k the results."""
        framed_w = self.cell_width + 2 * self.border
        row_h = self.cell_height + 2 * self.border + self.caption_height
        left = self.margin + self.label_width
        if col > 0:
            left += framed_w + self.query_gap + (col - 1) * (framed_w + self.gap)
        top = self.margin + self.title_height + row * (row_h + self.row_gap)
        return left, top, left + framed_w, top + self.cell_height + 2 * self.border


def ranked_grid(rows: Sequence[GridRow], title: str = "", layout: GridLayout | None = None) -> Image.Image:
    """Draw queries and their ranked results: frames green for a match, red otherwise, blue for queries."""
    layout = layout or GridLayout()
    if not rows:
        raise FinereidError("a ranked grid needs at least one query row")
    top_k = max(len(r.gallery_paths) for r in rows)
    image = Image.new("RGB", layout.size(len(rows), top_k), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=layout.font_size)
    for i, line in enumerate(title.splitlines()[:2]):
        draw.text((layout.margin, layout.margin + i * (layout.font_size + 4)), line, fill=TEXT, font=font)
    for r, row in enumerate(rows):
        top = layout.frame_box(r, 0)[1]
        for i, line in enumerate(row.label):
            draw.text((layout.margin, top + i * (layout.font_size + 4)), line, fill=TEXT, font=font)
        _paste_framed(image, draw, layout, layout.frame_box(r, 0), row.query_path, BLUE)
        for c in range(top_k):
            box = layout.frame_box(r, c + 1)
            if c >= len(row.gallery_paths):
                draw.rectangle(box, fill=EMPTY)
                continue
            colour = GREEN if row.matches[c] else RED
            _paste_framed(image, draw, layout, box, row.gallery_paths[c], colour)
            if row.captions:
                width = draw.textlength(row.captions[c], font=font)
                x = box[0] + (box[2] - box[0] - width) / 2
                draw.text((x, box[3] + 1), row.captions[c], fill=colour, font=font)
    return image


def _paste_framed(
    image: Image.Image, draw: ImageDraw.ImageDraw, layout: GridLayout, box: tuple, path: str, colour: tuple
) -> None:
    """Fill `box` with the frame colour and paste the resized image inside it."""
    draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    try:
        with Image.open(path) as source:
            cell = source.convert("RGB").resize((layout.cell_width, layout.cell_height), Image.BILINEAR)
    except OSError as exc:
        raise FinereidError(f"cannot read image {path} for the ranked grid: {exc}") from None
    image.paste(cell, (box[0] + layout.border, box[1] + layout.border))


def cmc_figure(curves: Mapping[str, Sequence[float]], path: str | Path, max_rank: int = MAX_CMC_RANK) -> Path:
    """Plot one CMC curve (fractions, rank 1 first) per run name into a PNG; returns the path."""
    fig = plots.cmc_figure(curves, max_rank, title="CMC on the synthetic query/gallery")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
