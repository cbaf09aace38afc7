"""Synthetic pedestrian dataset in the Market-1501 layout, with look-alike identities (`finereid data synth`).

Identities come in look-alike groups whose members differ in exactly one small detail (shoes, bag and
its side, logo, hat, glasses, stripe): the fine-grained case the FDP loss targets. Cameras differ in
viewpoint, scene, illumination, colour cast, scale, blur, noise and occlusion. With `masks=True` the
generator also writes where each picture shows its identity's distinguishing detail (`synth.masks`).
"""

from finereid.synth.attributes import (
    ATTRIBUTE_NAMES,
    FINE_ATTRIBUTES,
    Appearance,
    LookalikeGroup,
    differing_attributes,
    sample_groups,
)
from finereid.synth.camera import Camera, CameraProfile, Shot, sample_cameras, sample_shot
from finereid.synth.draw import VIEWS, draw_person
from finereid.synth.generate import MANIFEST, SPLIT_DIRS, generate_dataset, plan_dataset
from finereid.synth.masks import MASKS_DIR, detail_mask, has_masks, mask_path, read_detail_mask
from finereid.synth.preview import lookalike_grid, read_manifest

__all__ = [
    "ATTRIBUTE_NAMES",
    "FINE_ATTRIBUTES",
    "MANIFEST",
    "MASKS_DIR",
    "SPLIT_DIRS",
    "VIEWS",
    "Appearance",
    "Camera",
    "CameraProfile",
    "LookalikeGroup",
    "Shot",
    "detail_mask",
    "differing_attributes",
    "draw_person",
    "generate_dataset",
    "has_masks",
    "lookalike_grid",
    "mask_path",
    "plan_dataset",
    "read_detail_mask",
    "read_manifest",
    "sample_cameras",
    "sample_groups",
    "sample_shot",
]
