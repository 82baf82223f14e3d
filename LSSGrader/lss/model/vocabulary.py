"""The reading vocabulary: disc levels, graded regions, patient sides and grades."""

from __future__ import annotations

from enum import Enum, IntEnum


class Level(str, Enum):
    """A lumbar disc level, cranial to caudal."""

    L1_L2 = "L1/L2"
    L2_L3 = "L2/L3"
    L3_L4 = "L3/L4"
    L4_L5 = "L4/L5"
    L5_S1 = "L5/S1"

    @property
    def index(self) -> int:
        """0 for L1/L2 … 4 for L5/S1."""
        return list(Level).index(self)

    @property
    def upper_vertebra(self) -> str:
        """The vertebra above the disc, e.g. 'L4' for L4/L5."""
        return self.value.split("/")[0]

    @property
    def lower_vertebra(self) -> str:
        """The vertebra below the disc, e.g. 'L5' for L4/L5."""
        return self.value.split("/")[1]


class Plane(str, Enum):
    """The imaging plane on which a region is graded."""

    AXIAL = "axial"
    SAGITTAL = "sagittal"


class Side(str, Enum):
    """The patient's side (never the image side); NONE for midline regions."""

    LEFT = "left"
    RIGHT = "right"
    NONE = "none"


class Region(str, Enum):
    """A graded anatomical region."""

    CENTRAL_CANAL = "central_canal"
    LATERAL_RECESS = "lateral_recess"
    NEURAL_FORAMEN = "neural_foramen"

    @property
    def plane(self) -> Plane:
        """Central canal and lateral recess are graded on axial T2, the foramen on sagittal T1."""
        return Plane.SAGITTAL if self is Region.NEURAL_FORAMEN else Plane.AXIAL

    @property
    def sides(self) -> tuple[Side, ...]:
        """The sides a region is graded on."""
        return (Side.NONE,) if self is Region.CENTRAL_CANAL else (Side.LEFT, Side.RIGHT)

    @property
    def label(self) -> str:
        """Human-readable name, e.g. 'central canal'."""
        return self.value.replace("_", " ")


class Grade(IntEnum):
    """Stenosis grade. Dichotomous view: {normal, mild} negative, {moderate, severe} positive."""

    NORMAL = 0
    MILD = 1
    MODERATE = 2
    SEVERE = 3

    @property
    def label(self) -> str:
        """Lower-case name, e.g. 'moderate'."""
        return self.name.lower()

    @property
    def is_dichotomous_positive(self) -> bool:
        """True for moderate or severe."""
        return self >= Grade.MODERATE

    @property
    def is_present(self) -> bool:
        """Presence of stenosis means any grade above normal."""
        return self > Grade.NORMAL

    @property
    def colour(self) -> str:
        """Display colour per DESIGN.md §4 as '#RRGGBB'."""
        return GRADE_COLOURS[self]

    @property
    def colour_rgb(self) -> tuple[float, float, float]:
        """Display colour as RGB floats in [0, 1]."""
        hex_colour = GRADE_COLOURS[self].lstrip("#")
        return tuple(int(hex_colour[i : i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


GRADE_COLOURS: dict[Grade, str] = {
    Grade.NORMAL: "#E6E6E6",
    Grade.MILD: "#3C8CFF",
    Grade.MODERATE: "#FF9A1F",
    Grade.SEVERE: "#E8202A",
}


def region_keys() -> list[tuple[Level, Region, Side]]:
    """Every (level, region, side) key a full lumbar read grades: 5 levels × 5 regions = 25 keys."""
    return [(level, region, side) for level in Level for region in Region for side in region.sides]
