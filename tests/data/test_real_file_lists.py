"""The parsers on the benchmarks' real file names: every published split size must come out exactly.

The trees are built from the complete file lists in ../shared/data/benchmark-file-lists (see its README),
with one tiny placeholder image hard-linked to every path (about 20 s for the whole module).
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from data_fixture_trees import write_image
from PIL import Image

from finereid.data import ReIDDataset, build_dataset

LISTS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmark-file-lists"
SPLIT_DIRS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
LINKS_PER_FILE = 50_000  # ext4 allows 65,000 hard links to one file; MSMT17 alone needs 126,441

# Published (ids, images, cameras) per split; the Market gallery counts the distractor pid 0 as one id.
# Sources (as in docs/datasets.md): Market-1501 Zheng et al. ICCV 2015 / torchreid market1501.py;
# DukeMTMC-reID layumi/DukeMTMC-reID_evaluation README / torchreid dukemtmcreid.py; CUHK03-NP Zhong et al.
# CVPR 2017; MSMT17 V1 with list_val merged, Wei et al. CVPR 2018 / torchreid msmt17.py (images) and the
# MSINet dataset page (ids); VeRi-776 Liu et al. ICME 2016 / reid-strong-baseline veri.py.
PUBLISHED: dict[str, dict[str, tuple[int, int, int]]] = {
    "market1501": {"train": (751, 12936, 6), "query": (750, 3368, 6), "gallery": (751, 15913, 6)},
    "dukemtmc": {"train": (702, 16522, 8), "query": (702, 2228, 8), "gallery": (1110, 17661, 8)},
    "msmt17": {"train": (1041, 32621, 15), "query": (3060, 11659, 15), "gallery": (3060, 82161, 15)},
    # VeRi's 20 cameras are a whole-dataset figure, not a per-split one: the test lists (query and gallery)
    # hold images of 19 of them (none of camera c020), so 19 is what those splits must show.
    "veri": {"train": (576, 37778, 20), "query": (200, 1678, 19), "gallery": (200, 11579, 19)},
    "cuhk03-labeled": {"train": (767, 7368, 2), "query": (700, 1400, 2), "gallery": (700, 5328, 2)},
    "cuhk03-detected": {"train": (767, 7365, 2), "query": (700, 1400, 2), "gallery": (700, 5332, 2)},
}
CAMERAS = {
    "market1501": 6,
    "dukemtmc": 8,
    "msmt17": 15,
    "veri": 20,
    "cuhk03-labeled": 2,
    "cuhk03-detected": 2,
}


class Planter:
    """Hard-links one tiny image per suffix to many paths; a fresh copy every LINKS_PER_FILE links."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sources: dict[str, tuple[Path, int]] = {}  # suffix -> (current placeholder, links made to it)
        self.made = 0

    def _source(self, suffix: str) -> Path:
        path, links = self.sources.get(suffix, (Path(), LINKS_PER_FILE))
        if links >= LINKS_PER_FILE:
            self.made += 1
            path = write_image(self.folder / f"placeholder{self.made}{suffix}")  # 8 x 16, format from suffix
            links = 0
        self.sources[suffix] = (path, links + 1)
        return path

    def plant(self, paths: Iterable[Path]) -> None:
        """Create every path (and its folders) as a hard link to a placeholder image."""
        paths = list(paths)
        for folder in {p.parent for p in paths}:
            folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            os.link(self._source(path.suffix.lower()), path)


def _lines(name: str) -> list[str]:
    with gzip.open(LISTS / name, "rt") as handle:
        return [line for line in handle.read().splitlines() if line.strip()]


def _csv_tree(base: Path, prefix: str, planter: Planter) -> None:
    """Market/Duke from triplet-reid CSVs: rows `pid,<split folder>/<name>.jpg`."""
    for split in ("train", "query", "test"):
        planter.plant(base / line.split(",")[1] for line in _lines(f"{prefix}_{split}.csv.gz"))


def build_market(root: Path, planter: Planter) -> Path:
    """Market-1501 as extracted: root/Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test}."""
    _csv_tree(root / "Market-1501-v15.09.15", "market1501", planter)
    return root


def build_duke(root: Path, planter: Planter) -> Path:
    """DukeMTMC-reID as extracted: root/DukeMTMC-reID/{bounding_box_train,query,bounding_box_test}."""
    _csv_tree(root / "DukeMTMC-reID", "dukeMTMC", planter)
    return root


def build_msmt(root: Path, planter: Planter) -> Path:
    """MSMT17_V1: the four list files as released, train/ and test/ images named by them."""
    base = root / "MSMT17_V1"
    base.mkdir(parents=True)
    for split, folder in (("train", "train"), ("val", "train"), ("query", "test"), ("gallery", "test")):
        lines = _lines(f"msmt17_list_{split}.txt.gz")
        (base / f"list_{split}.txt").write_text("\n".join(lines) + "\n")
        planter.plant(base / folder / line.split()[0] for line in lines)
    return root


def build_veri(root: Path, planter: Planter) -> Path:
    """VeRi: train list `name label`, query/test lists bare names."""
    for split, folder in (("train", "image_train"), ("query", "image_query"), ("test", "image_test")):
        planter.plant(
            root / "VeRi" / folder / line.split()[0] for line in _lines(f"veri_{split}_list.txt.gz")
        )
    return root


def cuhk03_names(variant: str) -> dict[str, list[str]]:
    """CUHK03-NP file names per split from the protocol .mat: `<label:04d>_c<camId>_<1-based index>.png`."""
    loadmat = pytest.importorskip("scipy.io").loadmat
    mat = loadmat(str(LISTS / f"cuhk03_new_protocol_config_{variant}.mat"))
    labels, cams = mat["labels"].ravel(), mat["camId"].ravel()
    return {
        split: [f"{labels[i - 1]:04d}_c{cams[i - 1]}_{i}.png" for i in mat[f"{split}_idx"].ravel()]
        for split in ("train", "query", "gallery")
    }


def build_cuhk03(variant: str) -> Callable[[Path, Planter], Path]:
    """A builder of root/cuhk03-np/<variant>/{bounding_box_train,query,bounding_box_test}."""

    def build(root: Path, planter: Planter) -> Path:
        for split, names in cuhk03_names(variant).items():
            planter.plant(root / "cuhk03-np" / variant / SPLIT_DIRS[split] / name for name in names)
        return root

    return build


CASES: dict[str, tuple[str, dict, Callable[[Path, Planter], Path]]] = {
    "market1501": ("market1501", {}, build_market),
    "dukemtmc": ("dukemtmc", {}, build_duke),
    "msmt17": ("msmt17", {}, build_msmt),  # merge_val=True, the default
    "veri": ("veri", {}, build_veri),
    "cuhk03-labeled": ("cuhk03", {"variant": "labeled"}, build_cuhk03("labeled")),
    "cuhk03-detected": ("cuhk03", {"variant": "detected"}, build_cuhk03("detected")),
}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], ReIDDataset]]:
    """Parse a benchmark built from its real lists; each tree is built once per module, then removed."""
    if not LISTS.is_dir():
        pytest.skip(f"benchmark file lists not found: {LISTS}")
    root = tmp_path_factory.mktemp("real-file-lists")
    planter = Planter(root / "placeholders")
    parsed: dict[str, ReIDDataset] = {}

    def get(case: str) -> ReIDDataset:
        if case not in parsed:
            name, options, build = CASES[case]
            parsed[case] = build_dataset(name, build(root / case, planter), **options)
        return parsed[case]

    yield get
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("split", ["train", "query", "gallery"])
@pytest.mark.parametrize("case", list(PUBLISHED))
def test_published_statistics(real: Callable[[str], ReIDDataset], case: str, split: str) -> None:
    ids, images, cameras = PUBLISHED[case][split]
    assert real(case).statistics_dict()[split] == {"ids": ids, "images": images, "cameras": cameras}


@pytest.mark.parametrize("case", list(PUBLISHED))
def test_cameras_and_pids_line_up(real: Callable[[str], ReIDDataset], case: str) -> None:
    ds = real(case)
    all_records = ds.train + ds.query + ds.gallery
    assert {r.camid for r in all_records} == set(range(CAMERAS[case]))  # c1..cN -> camids 0..N-1
    assert {r.pid for r in ds.train} == set(range(ds.num_train_pids))  # relabelled 0..N-1
    assert {r.pid for r in ds.query} <= {r.pid for r in ds.gallery}  # every query can be matched
    with Image.open(all_records[-1].path) as image:  # a real, decodable placeholder of the named format
        assert (image.size, image.format) == ((8, 16), "PNG" if case.startswith("cuhk03") else "JPEG")


def test_market_junk_dropped_and_distractors_kept(real: Callable[[str], ReIDDataset]) -> None:
    gallery = real("market1501").gallery
    pids = [r.pid for r in gallery]
    assert -1 not in pids  # the 3,819 junk boxes of bounding_box_test
    assert pids.count(0) == 2798  # distractors (README of the lists: 2,798 rows with pid 0000)


def test_cuhk03_names_match_the_public_layout_examples(real: Callable[[str], ReIDDataset]) -> None:
    ds = real("cuhk03-labeled")
    assert [Path(r.path).name for r in ds.train[:2]] == ["0001_c1_1.png", "0001_c1_2.png"]
    assert {"0003_c1_22.png", "0003_c2_27.png"} <= {Path(r.path).name for r in ds.query}
    assert {"0003_c1_21.png", "0003_c1_23.png"} <= {Path(r.path).name for r in ds.gallery}
