"""What an importer test expects of each imported box, and the one check shared by the importer tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lss.model.vocabulary import Level, Region, Side
from lss.training.annotations import BoxAnnotation


@dataclass
class Expected:
    """A truth box and the name (class name, markup name, …) it is written under."""

    name: str
    stack_key: tuple[str, int]
    slice_index: int
    box: tuple[float, float, float, float]
    region: Region | None
    side: Side
    level: Level | None
    grades: frozenset


def assert_boxes_match(expected: list[Expected], boxes: list[BoxAnnotation]) -> None:
    """Each imported box is on the expected stack and slice, within 1 px, with the expected labels."""
    assert len(boxes) == len(expected)
    for want, got in zip(expected, boxes, strict=True):
        assert (got.stack_key, got.slice_index) == (want.stack_key, want.slice_index), want.name
        assert np.allclose(got.pixels, want.box, atol=1.0), (want.name, got.pixels, want.box)
        assert (got.region, got.side, got.level, got.grades) == (want.region, want.side, want.level, want.grades)
