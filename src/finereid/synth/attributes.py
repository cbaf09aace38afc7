"""Identity appearance sampling, with look-alike groups whose members differ in exactly ONE attribute.

An identity is an `Appearance`: coarse attributes (build, skin, hair, clothes) that make groups easy to
tell apart, and fine attributes (shoes, bag, logo, hat, glasses, stripe) that are the only thing telling
the members of one look-alike group apart: the fine-grained case the FDP loss targets.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

# Colour vocabularies (names; RGB values live in `pen.PALETTE`).
SKIN_TONES = ("pale", "light", "tan", "brown", "dark")
HAIR_COLOURS = ("black", "darkbrown", "brown", "blonde", "grey", "auburn")
CLOTH_COLOURS = (
    "black", "white", "grey", "navy", "blue", "skyblue", "red", "maroon",
    "green", "olive", "yellow", "orange", "purple", "pink", "beige", "brown",
)  # fmt: skip

# Coarse attributes: shared by every member of a group, different between groups.
COARSE_VALUES: dict[str, tuple[str, ...]] = {
    "build": ("slim", "average", "broad"),
    "height": ("short", "medium", "tall"),
    "skin": SKIN_TONES,
    "hair_colour": HAIR_COLOURS,
    "hair_style": ("short", "long", "bald"),
    "top_colour": CLOTH_COLOURS,
    "top_texture": ("plain", "vstripes", "checks", "jacket"),
    "top_colour2": CLOTH_COLOURS,
    "sleeves": ("short", "long"),
    "bottom_style": ("trousers", "shorts", "skirt"),
    "bottom_colour": CLOTH_COLOURS,
    "bag_colour": ("black", "brown", "navy", "red", "olive", "grey"),
}

# Fine attributes: the one small detail that separates look-alikes ("none" = not worn).
FINE_VALUES: dict[str, tuple[str, ...]] = {
    "shoes": ("black", "white", "red", "blue", "yellow"),
    "bag": ("none", "left", "right", "backpack"),
    "logo": ("none", "red", "yellow", "white", "blue"),
    "hat": ("none", "red", "blue", "white", "black", "yellow"),
    "glasses": ("none", "dark"),
    "stripe": ("none", "white", "red", "yellow", "black", "blue"),
}
FINE_ATTRIBUTES = tuple(FINE_VALUES)

# Coarse fields compared when keeping groups apart (bag_colour and top_colour2 are not always visible).
_VISIBLE_COARSE = tuple(k for k in COARSE_VALUES if k not in ("bag_colour", "top_colour2"))
# How many visible coarse attributes two groups must differ in, at least.
MIN_GROUP_DISTANCE = 3
# Probability that a base identity wears each fine attribute (the rest of the time: "none").
_WEAR_PROB = {"bag": 0.5, "logo": 0.4, "hat": 0.3, "glasses": 0.25, "stripe": 0.35}


@dataclass(frozen=True)
class Appearance:
    """Everything the renderer needs to draw one identity; plain strings so it serialises to JSON."""

    build: str
    height: str
    skin: str
    hair_colour: str
    hair_style: str
    top_colour: str
    top_texture: str
    top_colour2: str
    sleeves: str
    bottom_style: str
    bottom_colour: str
    bag_colour: str
    shoes: str
    bag: str
    logo: str
    hat: str
    glasses: str
    stripe: str

    def as_dict(self) -> dict[str, str]:
        """Attribute name -> value, in declaration order."""
        return {name: getattr(self, name) for name in ATTRIBUTE_NAMES}


ATTRIBUTE_NAMES = tuple(f.name for f in fields(Appearance))


@dataclass(frozen=True)
class LookalikeGroup:
    """Identities identical except for `attribute`, which takes a different value for each member."""

    attribute: str
    members: tuple[Appearance, ...]


def differing_attributes(a: Appearance, b: Appearance) -> list[str]:
    """Names of the attributes whose values differ between two appearances."""
    return [k for k in ATTRIBUTE_NAMES if getattr(a, k) != getattr(b, k)]


def _choice(rng: np.random.Generator, values: tuple[str, ...] | list[str]) -> str:
    return str(values[int(rng.integers(len(values)))])


def allowed_values(attribute: str, base: Appearance) -> list[str]:
    """Values a fine attribute may take on `base` (a logo or stripe must contrast with the top)."""
    values = list(FINE_VALUES[attribute])
    if attribute in ("logo", "stripe"):
        values = [v for v in values if v not in (base.top_colour, base.top_colour2)]
    return values


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """Draw one random identity: coarse attributes uniformly, fine ones worn with `_WEAR_PROB`."""
    coarse = {name: _choice(rng, values) for name, values in COARSE_VALUES.items()}
    # Keep the two top colours distinct so a texture is visible.
    while coarse["top_colour2"] == coarse["top_colour"]:
        coarse["top_colour2"] = _choice(rng, CLOTH_COLOURS)
    base = Appearance(
        **coarse,
        shoes=_choice(rng, FINE_VALUES["shoes"]),
        bag="none",
        logo="none",
        hat="none",
        glasses="none",
        stripe="none",
    )
    worn = {}
    for name, prob in _WEAR_PROB.items():
        if rng.random() < prob:
            worn[name] = _choice(rng, [v for v in allowed_values(name, base) if v != "none"])
    return replace(base, **worn)


def make_group(base: Appearance, attribute: str, size: int, rng: np.random.Generator) -> LookalikeGroup:
    """`size` copies of `base` that take pairwise-distinct values of one fine attribute."""
    values = allowed_values(attribute, base)
    if size > len(values):
        raise ValueError(f"attribute {attribute!r} has only {len(values)} values, cannot make {size} members")
    picked = rng.choice(len(values), size=size, replace=False)
    members = tuple(replace(base, **{attribute: values[int(i)]}) for i in picked)
    return LookalikeGroup(attribute=attribute, members=members)


def _coarse_code(a: Appearance) -> np.ndarray:
    return np.array([COARSE_VALUES[k].index(getattr(a, k)) for k in _VISIBLE_COARSE])


def partition_sizes(n: int, max_size: int, rng: np.random.Generator) -> list[int]:
    """Split n >= 2 identities into group sizes in [2, max_size] (max_size >= 3)."""
    if n < 2 or max_size < 3:
        raise ValueError(f"cannot split {n} identities into groups of 2..{max_size}")
    sizes: list[int] = []
    left = n
    while left > 0:
        size = int(rng.integers(2, max_size + 1))
        if left - size < 2:  # never overshoot or leave a single identity behind
            size = left if left <= max_size else left - 2
        sizes.append(size)
        left -= size
    return sizes


def sample_groups(sizes: list[int], rng: np.random.Generator) -> list[LookalikeGroup]:
    """One look-alike group per entry of `sizes` (each 2..len(shoe colours)), in that order.

    Group bases are redrawn until they differ from every earlier base in at least MIN_GROUP_DISTANCE
    visible coarse attributes, so only members of the same group are look-alikes.
    """
    groups: list[LookalikeGroup] = []
    codes: list[np.ndarray] = []
    for size in sizes:
        if not 2 <= size <= len(FINE_VALUES["shoes"]):
            raise ValueError(f"group size must be 2..{len(FINE_VALUES['shoes'])}, got {size}")
        for _ in range(1000):
            base = sample_appearance(rng)
            code = _coarse_code(base)
            if not codes or (np.stack(codes) != code).sum(axis=1).min() >= MIN_GROUP_DISTANCE:
                break
        else:  # the coarse space is huge; this only triggers for absurd numbers of groups
            raise ValueError(f"cannot draw {len(sizes)} look-alike groups that are all distinguishable")
        choices = [k for k in FINE_ATTRIBUTES if len(allowed_values(k, base)) >= size]
        groups.append(make_group(base, _choice(rng, choices), size, rng))
        codes.append(code)
    return groups
