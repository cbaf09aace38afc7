"""Shared test data for the synth tests."""

from __future__ import annotations

from finereid.synth.attributes import Appearance

# A person with no details worn: tests add one detail at a time to it.
PLAIN = Appearance(
    build="average", height="medium", skin="tan", hair_colour="black", hair_style="short",
    top_colour="grey", top_texture="plain", top_colour2="white", sleeves="long", bottom_style="trousers",
    bottom_colour="navy", bag_colour="brown", shoes="black", bag="none", logo="none", hat="none",
    glasses="none", stripe="none",
)  # fmt: skip

# The small dataset the session fixture writes (12 ids, 3 cameras, 64x32 images).
SMALL = {
    "num_ids": 12,
    "num_cameras": 3,
    "seed": 7,
    "images_per_id": 5,
    "num_distractors": 4,
    "image_size": (64, 32),
}
