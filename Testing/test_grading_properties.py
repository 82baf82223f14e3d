"""Property-based tests of the grading path (hypothesis): whatever the layout of graded slices and boxes, the
summary, the crops and the heatmaps stay finite and complete — data never ends a study in an internal error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lss.explain.heatmaps import paste_attribution
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level, Region, Side
from lss.nets.grader import GraderConfig
from lss.pipeline.detection import Detection
from lss.pipeline.grading import SliceGrade, central_slices, summarize
from lss.preprocess.crops import grading_crops
from lss.preprocess.stack_view import view_stack
from stack_fixtures import pixel_stack

N_SLICES, SIZE = 12, 64
KEYS = [(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE), (Level.L5_S1, Region.LATERAL_RECESS, Side.LEFT),
        (Level.L3_L4, Region.NEURAL_FORAMEN, Side.RIGHT)]
CONFIG = GraderConfig(crop_size=64)


def axial_view_stack(series_uid: str):
    origins = np.array([[0.0, 0.0, 4.0 * k] for k in range(N_SLICES)])
    geometry = StackGeometry(origins, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), (1.0, 1.0), SIZE, SIZE)
    return view_stack(pixel_stack(series_uid, "ax_t2", geometry, np.zeros((N_SLICES, SIZE, SIZE), np.float32)))


STACKS = [axial_view_stack("1.2.3"), axial_view_stack("1.2.4")]
weights = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=4, max_size=4).filter(lambda w: sum(w) > 1e-6)
ensemble_mean = weights.map(lambda w: [v / sum(w) for v in w])  # what a softmax ensemble gives: ≥ 0, sum 1
slice_grade = st.tuples(st.sampled_from(range(len(KEYS))), st.sampled_from(range(len(STACKS))),
                        st.integers(0, N_SLICES - 1), ensemble_mean, st.floats(0.05, 0.95))


def make_grade(key_index: int, stack_index: int, slice_index: int, probabilities: list[float],
               score: float) -> SliceGrade:
    detection = Detection(STACKS[stack_index], slice_index, "central_canal", (20.0, 20.0, 40.0, 44.0), score)
    return SliceGrade(KEYS[key_index], detection, np.array(probabilities), np.zeros(4), torch.zeros(1, 8, 8), False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(slice_grade, min_size=1, max_size=30), st.floats(0.0, 3.0))
def test_every_key_gets_one_finite_finding(layout, max_slice_offset):
    grades = [make_grade(*entry) for entry in layout]
    findings = summarize(grades, max_slice_offset)
    assert {f.key for f in findings} == {g.key for g in grades}
    for finding in findings:
        probabilities = np.array(finding.probabilities)
        assert np.isfinite(probabilities).all() and abs(probabilities.sum() - 1) < 1e-9
        assert int(finding.grade) == int(np.argmax(probabilities))
        assert np.isfinite(finding.uncertainty)
        assert len(finding.boxes) == sum(g.key == finding.key for g in grades)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, N_SLICES - 1), min_size=1, max_size=8), st.floats(0.0, 3.0))
def test_central_slices_are_never_empty(indices, max_slice_offset):
    grades = [make_grade(0, 0, index, [0.25] * 4, 0.9) for index in indices]
    central = central_slices(grades, max_slice_offset)
    assert central
    middle = float(np.median(indices))
    nearest = min(abs(index - middle) for index in indices)
    assert all(abs(g.detection.slice_index - middle) <= max(max_slice_offset, nearest) for g in central)


def test_detections_on_slices_2_and_5_only_are_graded():
    """The real-data case: the median is 3.5, both slices lie 1.5 away, beyond the default offset of 1."""
    grades = [make_grade(0, 0, 2, [0.1, 0.2, 0.6, 0.1], 0.9), make_grade(0, 0, 5, [0.1, 0.5, 0.3, 0.1], 0.9)]
    (finding,) = summarize(grades, 1.0)
    assert finding.probabilities == pytest.approx((0.1, 0.35, 0.45, 0.1))


coordinate = st.floats(-200.0, 300.0, allow_nan=False)
box = st.tuples(coordinate, coordinate, st.floats(0.0, 150.0), st.floats(0.0, 150.0)).map(
    lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3]))


@settings(max_examples=100, deadline=None)
@given(st.lists(box, min_size=1, max_size=5))
def test_crops_of_any_box_are_finite_and_of_the_grader_size(boxes):
    image = torch.rand(1, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    crops = grading_crops(image, boxes, CONFIG, [k % 2 == 0 for k in range(len(boxes))])
    assert crops.shape == (len(boxes), 1, CONFIG.crop_size, CONFIG.crop_size)
    assert torch.isfinite(crops).all()


@settings(max_examples=100, deadline=None)
@given(box, st.booleans())
def test_attributions_of_any_box_paste_finite_heat_in_0_1(box_view, mirrored):
    heat = np.zeros((SIZE, SIZE), np.float32)
    attribution = np.random.default_rng(0).normal(size=(16, 16)).astype(np.float32)
    paste_attribution(heat, attribution, box_view, CONFIG.box_enlargement, mirrored)
    assert np.isfinite(heat).all() and heat.min() >= 0 and heat.max() <= 1
