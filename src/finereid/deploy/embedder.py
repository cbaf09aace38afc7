"""`Embedder`: one object that embeds images and detection crops with any finereid model file.

    embedder = Embedder.load("best.ckpt")          # or model.torchscript, model.onnx, x_openvino_model/
    feats = embedder.embed(["a.jpg", pil_image])   # float32 [N, D]
    feats = embedder.embed(frame, channels="bgr")  # a uint8 H x W x 3 array: say which channel order
    feats = embedder.embed_crops(frame, boxes_xyxy, channels="bgr")

Preprocessing is finereid's test transform (`finereid.data.build_transforms(is_train=False)`: antialiased
resize of the uint8 image to the model's height x width, scale to [0, 1], normalize with its mean/std),
with the size and normalization read from the file's metadata, so every backend gives the embeddings
`finereid extract` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from finereid.data import build_transforms, read_image
from finereid.deploy.runners import Runner, open_model
from finereid.errors import ConfigError, FinereidError
from finereid.evaluation import Calibration
from finereid.runtime import resolve_device

CHANNEL_ORDERS = ("rgb", "bgr")
ImageLike = str | Path | Image.Image | np.ndarray


class Embedder:
    """Embeds images with a loaded model file in batches of `batch_size`; `meta` describes the model."""

    def __init__(self, runner: Runner, path: Path, batch_size: int = 64) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.runner, self.path, self.batch_size = runner, path, batch_size
        meta = runner.meta
        self.height, self.width = int(meta["height"]), int(meta["width"])
        self.mean = tuple(float(v) for v in meta["mean"])
        self.std = tuple(float(v) for v in meta["std"])
        self.transform = build_transforms(
            self.height, self.width, is_train=False, mean=self.mean, std=self.std
        )
        entry = meta.get("calibration")
        self.calibration = Calibration.from_dict(entry, path) if entry else None

    @classmethod
    def load(
        cls, path: str | Path, device: str | torch.device = "cpu", *, half: bool = False, batch_size: int = 64
    ) -> Embedder:
        """A checkpoint (.ckpt), TorchScript (.torchscript/.pt), ONNX (.onnx) or OpenVINO (.xml or folder).

        `half=True` runs checkpoints and TorchScript files in float16 on CUDA.
        """
        return cls(open_model(path, resolve_device(device), half), Path(path), batch_size)

    @property
    def meta(self) -> dict[str, Any]:
        """The model's metadata: model name, input size, mean/std, distance, feature_dim, calibration."""
        return dict(self.runner.meta)

    @property
    def format(self) -> str:
        """checkpoint, torchscript, onnx or openvino."""
        return self.runner.format

    @property
    def distance(self) -> str:
        """The distance the model was validated with (euclidean or cosine)."""
        return str(self.runner.meta["distance"])

    @property
    def feature_dim(self) -> int:
        """Size of one embedding."""
        return int(self.runner.meta["feature_dim"])

    def embed(self, images: ImageLike | Sequence[ImageLike], *, channels: str | None = None) -> np.ndarray:
        """Embeddings [N, D] of image paths, PIL images or uint8 H x W x 3 arrays (`channels` rgb/bgr).

        A single image or an [N, H, W, 3] array stack is accepted too.
        """
        if isinstance(images, (str, Path, Image.Image)) or (
            isinstance(images, np.ndarray) and images.ndim == 3
        ):
            images = [images]
        return self._run([self.transform(_as_uint8_chw(image, channels)) for image in images])

    def embed_crops(self, frame: np.ndarray, boxes_xyxy: Any, *, channels: str | None = None) -> np.ndarray:
        """Embeddings [N, D] of the boxes' crops of `frame` (uint8 H x W x 3); boxes are clipped to it.

        `boxes_xyxy` is [N, 4] pixel coordinates (x1, y1, x2, y2); N = 0 gives a [0, D] array. A box
        reaching outside the frame is cut at its edge; one wholly outside becomes a 1-pixel crop there.
        """
        image = _as_uint8_chw(frame, channels, what="frame")
        boxes = _pixel_boxes(boxes_xyxy, image.shape[1], image.shape[2])
        crops = [self.transform(image[:, y1:y2, x1:x2]) for x1, y1, x2, y2 in boxes.tolist()]
        return self._run(crops)

    def _run(self, tensors: list[torch.Tensor]) -> np.ndarray:
        """Stack the transformed images batch by batch and run the model."""
        if not tensors:
            return np.zeros((0, self.feature_dim), dtype=np.float32)
        out = [
            self.runner.run(torch.stack(tensors[i : i + self.batch_size]))
            for i in range(0, len(tensors), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float32, copy=False)


def _as_uint8_chw(image: Any, channels: str | None, what: str = "image") -> torch.Tensor:
    """A uint8 RGB (3, H, W) tensor from a path, a PIL image or an H x W x 3 uint8 array."""
    if isinstance(image, (str, Path)):
        return read_image(str(image))
    if isinstance(image, Image.Image):
        return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)
    if not isinstance(image, np.ndarray):
        raise FinereidError(
            f"cannot embed a {type(image).__name__}: give a path, a PIL image or a uint8 array"
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise FinereidError(f"a {what} array must be uint8 H x W x 3, got {image.dtype} {tuple(image.shape)}")
    if min(image.shape[:2]) < 1:
        raise FinereidError(f"the {what} is empty: shape {tuple(image.shape)}")
    if channels not in CHANNEL_ORDERS:
        raise ConfigError(
            f"say the {what}'s channel order: channels='rgb' or 'bgr' (OpenCV), got {channels!r}"
        )
    rgb = image[:, :, ::-1] if channels == "bgr" else image
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)  # a copy: the caller's array is never touched


def _pixel_boxes(boxes_xyxy: Any, height: int, width: int) -> np.ndarray:
    """Integer [N, 4] crops (x1, y1, x2, y2) inside a height x width frame, each at least 1 x 1 pixel."""
    try:
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
    except (TypeError, ValueError):
        raise FinereidError("boxes must be numbers, [N, 4] x1 y1 x2 y2") from None
    if boxes.size == 0:
        return np.zeros((0, 4), dtype=np.int64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise FinereidError(f"boxes must be [N, 4] x1 y1 x2 y2, got shape {tuple(boxes.shape)}")
    if not np.isfinite(boxes).all():
        raise FinereidError("boxes contain NaN or infinite coordinates")
    if ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any():
        raise FinereidError("boxes must be x1 y1 x2 y2 with x2 >= x1 and y2 >= y1 (not x y w h?)")
    x1 = np.clip(np.floor(boxes[:, 0]), 0, width - 1)
    y1 = np.clip(np.floor(boxes[:, 1]), 0, height - 1)
    x2 = np.clip(np.ceil(boxes[:, 2]), x1 + 1, width)
    y2 = np.clip(np.ceil(boxes[:, 3]), y1 + 1, height)
    return np.stack([x1, y1, x2, y2], axis=1).astype(np.int64)
