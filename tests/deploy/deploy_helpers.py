"""Helpers of the deployment tests: their tiny Market tree, a checkpoint, headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from helpers.market import make_tiny_market

HEIGHT, WIDTH = 64, 32
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Waits for every image (lazy ones forced to load), then writes what the page shows into the DOM.
CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  imgs.forEach(function (i) { i.loading = 'eager'; });
  Promise.all(imgs.map(function (i) {
    return (i.complete && i.naturalWidth > 0) ? Promise.resolve() : i.decode().catch(function () {});
  })).then(function () {
    var out = document.createElement('pre');
    out.id = 'finereid-check';
    out.textContent = JSON.stringify({
      queries: document.querySelectorAll('.query').length,
      hits: document.querySelectorAll('ol.ranked li').length,
      images: imgs.length,
      broken: imgs.filter(function (i) { return i.complete && i.naturalWidth === 0; }).length,
      incomplete: imgs.filter(function (i) { return !i.complete; }).length,
      placeholders: document.querySelectorAll('.missing').length,
      svg: document.querySelectorAll('.cmc svg').length,
      green: document.querySelectorAll('li.match').length,
      red: document.querySelectorAll('li.nonmatch').length
    });
    document.body.appendChild(out);
  });
});
</script>"""


def write_jpeg(path: Path, pid: int, seed: int, size: tuple[int, int] = (HEIGHT, WIDTH)) -> None:
    """A small JPEG whose colours depend on the pid (so identities differ) plus per-image noise."""
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(pid + 1000).integers(0, 256, size=(2, 1, 3))
    img = np.concatenate(
        [
            np.broadcast_to(base[0], (size[0] // 2, size[1], 3)),
            np.broadcast_to(base[1], (size[0] - size[0] // 2, size[1], 3)),
        ]
    )
    img = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=90)


def make_market(root: Path) -> Path:
    """Market-1501 layout: 4 train ids x 4 images; 4 query ids (camera 1); gallery with a same-camera
    junk image per id, 2 other-camera matches per id and 2 distractors (pid 0): 16 / 4 / 14 images.
    Query 13 is drawn in pid 12's colours: a rank-1 failure for the report."""
    return make_tiny_market(
        root, range(1, 5), range(10, 14), 4, gallery_cams=(1, 2, 3), noise=20.0, seed=0,
        size=(HEIGHT, WIDTH), looks_like={13: 12}, distractor_cams=(2, 3),
    )  # fmt: skip


def save_checkpoint(path: Path, model_name: str = "bot_resnet18", num_classes: int = 4,
                    height: int = HEIGHT, width: int = WIDTH):  # fmt: skip
    """A real checkpoint at this folder's input size (helpers.checkpoints); returns the module."""
    from helpers.checkpoints import save_random_checkpoint

    return save_random_checkpoint(path, model_name, num_classes, height, width)


def check_page(page: Path, tmp_dir: Path) -> dict:
    """Open a copy of `page` (same folder, so relative links resolve) in headless Chromium from file://."""
    assert CHROMIUM is not None
    probe = page.with_name("chromium_check_" + page.name)
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8"
    )
    cmd = [
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_dir / 'chromium-profile'}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        probe.resolve().as_uri(),
    ]
    try:
        dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False).stdout
    finally:
        probe.unlink()
    found = re.search(r'<pre id="finereid-check">([^<]*)</pre>', dom)
    assert found, f"the page did not finish loading in Chromium; DOM starts: {dom[:300]!r}"
    return json.loads(found[1].replace("&quot;", '"'))
