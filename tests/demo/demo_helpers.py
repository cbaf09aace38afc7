"""A tiny demo preset for the tests: 12 identities at 64x32, one epoch at 32x16 (seconds, not minutes)."""

from __future__ import annotations

from finereid.demo import PRESETS, DemoSettings


def _tiny_training() -> dict[str, dict]:
    """The full preset's recipe with a 32x16 input, P x K = 2 x 4, one epoch, no loader workers."""
    sections = {name: dict(values) for name, values in PRESETS["full"].training.items()}
    sections["data"].update(height=32, width=16, batch_size=8, num_workers=0, test_batch_size=64)
    sections["optim"].update(milestones=[1])
    sections["trainer"].update(max_epochs=1, eval_every=1, accelerator="cpu")
    return sections


TINY = DemoSettings(
    "tiny",
    dataset={
        "num_ids": 12,
        "num_cameras": 3,
        "images_per_id": 5,
        "image_size": (64, 32),
        "num_distractors": 4,
    },
    training=_tiny_training(),
)
