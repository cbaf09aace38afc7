"""Builders of tiny on-disk dataset trees (real JPEG/PNG files, real names) for the data tests."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def write_image(
    path: Path, color: tuple[int, int, int] = (120, 60, 30), size: tuple[int, int] = (8, 16)
) -> Path:
    """A small solid-colour image (width x height = size), format from the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def write_corrupt(path: Path) -> Path:
    """A file named like a JPEG whose data is cut off after the header."""
    write_image(path, size=(32, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def color_of(pid: int, k: int) -> tuple[int, int, int]:
    """A colour that differs per pid and per image."""
    return ((pid * 37) % 256, (k * 53) % 256, (pid * 11 + k * 7) % 256)


# Market-1501: train pids 2, 7, 9 (3 images each over cameras 1-3), a junk image in every split;
# query pids 3, 5; gallery pids 3, 5 plus distractors (pid 0).
MARKET = {
    "bounding_box_train": [(2, 1), (2, 2), (2, 3), (7, 1), (7, 4), (7, 6), (9, 2), (9, 2), (9, 5), (-1, 1)],
    "query": [(3, 1), (5, 2), (-1, 3)],
    "gallery": [(3, 2), (3, 4), (5, 1), (5, 6), (0, 1), (0, 3), (-1, 2)],
}


def make_market(root: Path, subdir: str = "Market-1501-v15.09.15") -> Path:
    """A Market-1501 tree (see MARKET) under root/subdir, plus the Thumbs.db real downloads contain."""
    base = root / subdir if subdir else root
    folders = {"bounding_box_train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
    for key, folder in folders.items():
        for k, (pid, cam) in enumerate(MARKET[key]):
            write_image(base / folder / f"{pid:04d}_c{cam}s1_{k:06d}_01.jpg", color_of(pid, k))
        (base / folder / "Thumbs.db").write_bytes(b"\x00\x01")
    return root


def make_split_tree(base: Path, split_dirs: dict[str, str], names: dict[str, list[str]]) -> Path:
    """Generic layout: base/<folder>/<name> for each split."""
    for split, folder in split_dirs.items():
        for k, name in enumerate(names[split]):
            write_image(base / folder / name, color_of(k, k))
    return base


def make_msmt(root: Path, version: str = "MSMT17_V1") -> Path:
    """An MSMT17 tree: train pids 0,1,2 (val holds more images of pids 0,2), test pids 0,1 in 2 cameras."""
    train_dir, test_dir = ("train", "test") if version == "MSMT17_V1" else ("mask_train_v2", "mask_test_v2")
    base = root / version
    lists = {
        "list_train.txt": (train_dir, [(0, 1), (0, 3), (1, 2), (1, 2), (2, 15)]),
        "list_val.txt": (train_dir, [(0, 4), (2, 15)]),
        "list_query.txt": (test_dir, [(0, 1), (1, 5)]),
        "list_gallery.txt": (test_dir, [(0, 2), (0, 3), (1, 1)]),
    }
    for list_name, (folder, items) in lists.items():
        lines = []
        for k, (pid, cam) in enumerate(items):
            rel = f"{pid:04d}/{pid:04d}_{k:03d}_{cam:02d}_0303morning_{k:04d}_0.jpg"
            write_image(base / folder / rel, color_of(pid, k))
            lines.append(f"{rel} {pid}")
        (base / list_name).write_text("\n".join(lines) + "\n")
    return root


# VehicleID: train vehicles 12 and 40; the 800 list holds vehicles 7 (3 images), 9 (1 image) and 30
# (4 images); the 1600 list adds vehicle 31 (2 images). Image names are 7 digits, lines `<name> <id>`.
VEHICLEID = {
    "train_list.txt": [(12, 3), (40, 2)],
    "test_list_800.txt": [(7, 3), (9, 1), (30, 4)],
    "test_list_1600.txt": [(7, 3), (9, 1), (30, 4), (31, 2)],
}


def make_vehicleid(root: Path, subdir: str = "VehicleID_V1.0") -> Path:
    """A VehicleID tree (see VEHICLEID) under root/subdir: image/*.jpg and train_test_split/*.txt."""
    base = root / subdir if subdir else root
    (base / "train_test_split").mkdir(parents=True, exist_ok=True)
    for list_name, vehicles in VEHICLEID.items():
        lines = []
        for vid, count in vehicles:
            for k in range(count):
                name = f"{vid:04d}{k:03d}"
                if not (base / "image" / f"{name}.jpg").exists():
                    write_image(base / "image" / f"{name}.jpg", color_of(vid, k))
                lines.append(f"{name} {vid}")
        (base / "train_test_split" / list_name).write_text("\n".join(lines) + "\n")
    return root
