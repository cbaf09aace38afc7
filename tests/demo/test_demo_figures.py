"""The demo's figures: ranked-grid geometry and frame colours, the CMC plot, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from finereid.demo import GridLayout, GridRow, cmc_figure, ranked_grid
from finereid.demo.figures import BLUE, EMPTY, GREEN, RED
from finereid.errors import FinereidError

GREY = (128, 128, 128)
SMALL = GridLayout(cell_height=32, cell_width=16)


def _solid(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (16, 32)) -> str:
    Image.new("RGB", size, colour).save(path)
    return str(path)


@pytest.fixture()
def grey_image(tmp_path: Path) -> str:
    return _solid(tmp_path / "grey.png", GREY)


def test_grid_size_follows_the_layout(grey_image: str) -> None:
    rows = [GridRow(grey_image, [grey_image] * 5, [False] * 5) for _ in range(3)]
    image = ranked_grid(rows, "title", SMALL)
    # width: 2 margins (16) + label (112) + 6 framed cells of 16+2*4 (144) + query gap (16) + 4 gaps of 4 (16)
    # height: 2 margins (16) + title (40) + 3 rows of 32+2*4+16 (168) + 2 row gaps of 8 (16)
    assert image.size == (304, 240) == SMALL.size(3, 5)
    assert GridLayout().size(10, 10)[0] > GridLayout().size(10, 5)[0]


def test_frame_colours_match_correctness(grey_image: str) -> None:
    matches = [[True, False, False, True], [False, False, True, False]]
    rows = [GridRow(grey_image, [grey_image] * 4, m, captions=["0001"] * 4) for m in matches]
    image = ranked_grid(rows, layout=SMALL)
    for r, row_matches in enumerate(matches):
        left, top, right, bottom = SMALL.frame_box(r, 0)
        assert image.getpixel((left + 1, top + 1)) == BLUE
        for c, match in enumerate(row_matches, 1):
            left, top, right, bottom = SMALL.frame_box(r, c)
            expected = GREEN if match else RED
            for x, y in ((left + 1, top + 1), (right - 2, bottom - 2), (left + 1, (top + bottom) // 2)):
                assert image.getpixel((x, y)) == expected, (r, c, x, y)
            centre = ((left + right) // 2, (top + bottom) // 2)
            assert image.getpixel(centre) == GREY  # the image itself sits inside the frame


def test_the_gallery_image_is_pasted_in_rank_order(tmp_path: Path) -> None:
    colours = [(250, 0, 250), (0, 250, 250), (250, 250, 0)]
    paths = [_solid(tmp_path / f"g{i}.png", c, (40, 80)) for i, c in enumerate(colours)]
    image = ranked_grid([GridRow(paths[0], paths, [True, False, False])], layout=SMALL)
    for c, colour in enumerate(colours, 1):
        left, top, right, bottom = SMALL.frame_box(0, c)
        assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == colour


def test_short_rows_leave_empty_cells(grey_image: str) -> None:
    rows = [GridRow(grey_image, [grey_image] * 3, [True] * 3), GridRow(grey_image, [grey_image], [False])]
    image = ranked_grid(rows, layout=SMALL)
    assert image.size == SMALL.size(2, 3)
    left, top, right, bottom = SMALL.frame_box(1, 2)
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == EMPTY


def test_grid_rejects_bad_rows(tmp_path: Path, grey_image: str) -> None:
    with pytest.raises(FinereidError, match="3 gallery images but 2 match flags"):
        GridRow(grey_image, [grey_image] * 3, [True, False])
    with pytest.raises(FinereidError, match="captions"):
        GridRow(grey_image, [grey_image] * 2, [True, False], captions=["a"])
    with pytest.raises(FinereidError, match="at least one query row"):
        ranked_grid([])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(FinereidError, match="cannot read image"):
        ranked_grid([GridRow(str(broken), [grey_image], [True])], layout=SMALL)


def test_cmc_figure_writes_one_png(tmp_path: Path) -> None:
    path = cmc_figure({"triplet": [0.2, 0.4, 0.5] + [0.6] * 47, "fdp": [0.3] * 50}, tmp_path / "cmc.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (605, 418)  # 5.5 x 3.8 inches at 110 dpi
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 10  # two curves, text and grid, not a blank canvas
    with pytest.raises(FinereidError, match="no CMC curve"):
        cmc_figure({}, tmp_path / "none.png")
    with pytest.raises(FinereidError, match="empty CMC curve for 'fdp'"):
        cmc_figure({"fdp": []}, tmp_path / "none.png")
