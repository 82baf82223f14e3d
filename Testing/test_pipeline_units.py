"""Units of the grading pipeline: disc labelling, foramen placement, heatmap pasting, the report's wording."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lss.explain.heatmaps import paste_attribution
from lss.explain.integrated_gradients import integrated_gradients
from lss.model.findings import Finding
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.pipeline.detection import Detection
from lss.pipeline.spine_levels import foramen_place, label_discs
from lss.preprocess.stack_view import view_stack
from lss.report.markdown import impression
from stack_fixtures import pixel_stack

N_SLICES = 13


def sagittal_stack():
    """13 sagittal slices 4 mm apart (slice 6 on x = 0); columns go posterior, rows inferior from z = 150."""
    origins = np.array([[4.0 * (k - 6), -100.0, 150.0] for k in range(N_SLICES)])
    geometry = StackGeometry(origins, np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0]), (1.0, 1.0), 300, 300)
    return view_stack(pixel_stack("1.2.3", "sag_t1", geometry, np.zeros((N_SLICES, 300, 300), np.float32)))


def disc_at(stack, z: float, slice_index: int, score: float = 0.99, name: str = "disc") -> Detection:
    row = 150.0 - z  # view row of LPS z (+0.5: pixel edges)
    return Detection(stack, slice_index, name, (95.5, row - 5 + 0.5, 135.5, row + 5 + 0.5), score)


def spine(stack, heights, slices=range(3, 10)):
    return [disc_at(stack, z, k) for z in heights for k in slices]


def test_discs_are_labelled_from_the_lowest_confident_one_up():
    stack = sagittal_stack()
    weak_sacrum = [disc_at(stack, -135.0, k, score=0.4) for k in range(4, 8)]
    detections = spine(stack, (-100.0, -65.0, -30.0, 5.0, 40.0, 75.0)) + weak_sacrum
    levels = label_discs(detections, stack)
    assert [d.level for d in levels.discs] == [Level.L5_S1, Level.L4_L5, Level.L3_L4, Level.L2_L3, Level.L1_L2]
    assert [round(d.centre_lps[2]) for d in levels.discs] == [-100, -65, -30, 5, 40]
    assert any("above L1/L2" in w for w in levels.warnings)
    assert any("too few slices" in w for w in levels.warnings)
    assert all(d.normal_lps[2] > 0.99 for d in levels.discs)
    assert levels.midline_point[0] == pytest.approx(0.0)


def test_a_weak_disc_where_a_disc_belongs_is_kept_one_too_close_is_not():
    stack = sagittal_stack()
    weak_top = [disc_at(stack, 40.0, k, score=0.35) for k in range(4, 9)]
    weak_close = [disc_at(stack, 18.0, k, score=0.4) for k in range(5, 8)]
    levels = label_discs(spine(stack, (-100.0, -65.0, -30.0, 5.0)) + weak_top + weak_close, stack)
    assert [round(d.centre_lps[2]) for d in levels.discs] == [-100, -65, -30, 5, 40]
    assert levels.discs[-1].level is Level.L1_L2


def test_an_implausible_disc_gap_is_flagged():
    stack = sagittal_stack()
    levels = label_discs(spine(stack, (-100.0, -65.0, 5.0, 40.0)), stack)  # L3/L4 missed: 70 mm gap
    assert any("70 mm" in w and "check the level labels" in w for w in levels.warnings)


def test_no_confident_disc_means_no_levels():
    stack = sagittal_stack()
    levels = label_discs([disc_at(stack, 0.0, 5, score=0.5)], stack)
    assert not levels.discs and "levels cannot be labelled" in levels.warnings[0]


@pytest.mark.parametrize("slice_index, side", [(2, Side.RIGHT), (10, Side.LEFT), (6, None)])
def test_foramina_take_their_side_from_the_slice_and_their_level_from_the_nearest_disc(slice_index, side):
    stack = sagittal_stack()
    levels = label_discs(spine(stack, (-100.0, -65.0, -30.0, 5.0, 40.0)), stack)
    place = foramen_place(disc_at(stack, -60.0, slice_index, name="neural_foramen"), levels)
    assert place == (None if side is None else (Level.L4_L5, side))


def test_a_foramen_far_from_every_disc_is_not_placed():
    stack = sagittal_stack()
    levels = label_discs(spine(stack, (-100.0, -65.0, -30.0, 5.0, 40.0)), stack)
    assert foramen_place(disc_at(stack, 100.0, 10, name="neural_foramen"), levels) is None


@pytest.mark.parametrize("mirrored, expected_col", [(False, 26), (True, 13)])
def test_attributions_land_where_their_crop_pixel_was(mirrored, expected_col):
    attribution = np.zeros((8, 8), np.float32)
    attribution[2, 6] = 3.0
    attribution[5, 1] = -4.0  # negative evidence is not shown
    heat = np.zeros((60, 60), np.float32)
    paste_attribution(heat, attribution, (10.0, 20.0, 30.0, 40.0), 1.0, mirrored)
    row, col = np.unravel_index(np.argmax(heat), heat.shape)
    assert (row, col) == (26, expected_col) and heat.max() <= 1.0
    assert heat.min() == 0.0 and not heat[:, :10].any() and not heat[:, 30:].any()


def test_integrated_gradients_of_a_linear_grader_are_exact():
    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(4, 16) * 0.1)

        def forward(self, x):
            return x.flatten(1) @ self.weight.T

    torch.manual_seed(0)
    crops = torch.rand(3, 1, 4, 4)
    result = integrated_gradients([Linear(), Linear()], crops, torch.tensor([0, 2, 3]), steps=64)
    assert result.maps.shape == (3, 4, 4)
    assert torch.allclose(result.maps.sum(dim=(1, 2)), result.difference, atol=1e-3)
    assert float(result.relative_error.max()) < 0.01 and result.steps.tolist() == [64, 64, 64]


class SharpGrader(torch.nn.Module):
    """Its grade-0 probability jumps from 0 to 1 halfway along the path from black to a bright crop: an
    integral that a few steps get badly wrong."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        jump = 40.0 * (x.flatten(1).mean(dim=1, keepdim=True) - 0.5) + self.anchor
        return torch.cat([jump, torch.zeros_like(jump).expand(-1, 3)], dim=1)


def test_integrated_gradients_refine_the_crops_that_need_more_steps():
    crops = torch.cat([torch.full((1, 1, 4, 4), 1.0), torch.full((1, 1, 4, 4), 0.2)])
    targets = torch.tensor([0, 0])
    fixed = integrated_gradients([SharpGrader()], crops, targets, steps=4, max_steps=4)
    assert float(fixed.relative_error[0]) > 0.2  # 4 steps miss the jump
    refined = integrated_gradients([SharpGrader()], crops, targets, steps=4)
    assert float(refined.relative_error[0]) < 0.05 and 4 < int(refined.steps[0]) <= 32
    assert int(refined.steps[1]) == 4  # the dim crop never crosses the jump: no extra steps spent on it
    assert torch.allclose(refined.maps[1], fixed.maps[1])


def test_impression_lists_moderate_and_severe_by_level_worst_first():
    findings = [Finding(Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT, Grade.MODERATE,
                        probabilities=(0.1, 0.19, 0.71, 0.0)),
                Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.SEVERE,
                        probabilities=(0.0, 0.03, 0.05, 0.92)),
                Finding(Level.L2_L3, Region.NEURAL_FORAMEN, Side.RIGHT, Grade.MILD, probabilities=(0.3, 0.6, 0.1, 0.0))]
    lines = impression(findings)
    assert lines[0] == ("L4/L5: severe central canal stenosis (92 %); moderate left lateral recess stenosis (71 %).")
    assert lines[1] == "Mild: L2/L3 right neural foramen stenosis (60 %)."
    assert lines[2].startswith("Not assessed: central canal at L1/L2, L2/L3, L3/L4, L5/S1; left lateral recess at")


def test_no_reassurance_without_a_graded_region():
    assert impression([], ["no disc was detected on the sagittal series"]) == [
        "Not assessed: no lumbar level could be graded (no disc was detected on the sagittal series)."]
    every_key = [Finding(level, region, side, Grade.NORMAL, probabilities=(1.0, 0.0, 0.0, 0.0))
                 for level in Level for region in Region for side in region.sides]
    assert impression(every_key) == ["No moderate or severe stenosis at the graded levels."]
    foramina = [f for f in every_key if f.region is Region.NEURAL_FORAMEN]
    assert impression(foramina) == ["No moderate or severe stenosis in the regions graded.",
                                    "Not assessed: central canal at every level; left lateral recess at every level; "
                                    "right lateral recess at every level (see the notes)."]
