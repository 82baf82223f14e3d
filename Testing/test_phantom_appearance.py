"""Randomised-appearance phantom rendering (issue 24): random label intensities with kept contrast relations,
deformation shared by images and ground-truth zones, k-space ringing, clinical acquisition ranges, vendor
scaling, the --style option, and the classic style left untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lss.cli.main import main
from lss.model.findings_io import read_findings
from lss.phantom.acquisition import plan_protocol
from lss.phantom.anatomy import zone_id
from lss.phantom.appearance import (
    CLASSIC,
    DARK_LABELS,
    FAT_LABELS,
    MIXED_STYLE,
    NUCLEUS_LABELS,
    RANDOMISED,
    STYLES,
    T1_LIKE,
    T2_LIKE,
    TRAINING_STYLES,
    UNSEEN,
    appearance_rng,
    draw_randomised,
    draw_unseen,
    resolve_style,
)
from lss.phantom.appearance_acquisition import (
    AXIAL_FOV_MM,
    RECONSTRUCTED_MATRICES,
    SAGITTAL_FOV_MM,
    randomise_plan,
    vendor_scaled_profile,
)
from lss.phantom.appearance_render import render_appearance
from lss.phantom.degrade import truncate_kspace
from lss.phantom.generate import (
    PhantomOptions,
    render_study,
    study_grades,
    study_subject,
    styled_subject,
    write_study,
)
from lss.phantom.ground_truth import zone_boxes
from lss.phantom.profiles import get_profile
from lss.phantom.render import sample_stack
from lss.phantom.smooth_field import SmoothDeformation
from lss.phantom.tissues import Tissue

SEED = 7


@pytest.fixture(scope="module")
def randomised():
    return render_study(SEED, 0, PhantomOptions(style=RANDOMISED, profile="1.5T-siemens"))


def axial_series(study):
    return [s for s in study.plan if s.role == "ax_t2"]


def label_means(image: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    return {int(t): float(image[labels == t].mean()) for t in np.unique(labels) if (labels == t).sum() > 200}


def within_label_spread(image: np.ndarray, labels: np.ndarray) -> float:
    """Pooled within-label variance of an image: small when the labels explain the image."""
    total = 0.0
    for t in np.unique(labels):
        values = image[labels == t]
        total += float(((values - values.mean()) ** 2).sum())
    return total / image.size


def test_two_randomised_renders_of_one_subject_differ_in_label_intensities(randomised):
    plan = axial_series(randomised)
    first = render_appearance(randomised.anatomy, plan, RANDOMISED, np.random.default_rng(1))
    second = render_appearance(randomised.anatomy, plan, RANDOMISED, np.random.default_rng(2))
    number = plan[0].series_number
    a = label_means(first.images[number][0], first.sampled[number][0].labels)
    b = label_means(second.images[number][0], second.sampled[number][0].labels)
    shared = sorted(set(a) & set(b) - {int(Tissue.AIR)})
    assert len(shared) >= 5
    ratios = np.array([a[t] / max(b[t], 1e-6) for t in shared]) * (np.mean(list(b.values())) /
                                                                    np.mean(list(a.values())))
    assert np.ptp(np.log(ratios)) > 0.5, "the tissues kept their relative intensities across two renders"


def box_keys(boxes) -> list[tuple]:
    return [(b.slice_index, b.col_min, b.row_min, b.col_max, b.row_max) for b in boxes]


def test_images_and_ground_truth_boxes_follow_the_deformed_zones(randomised, tmp_path):
    series = next(s for s in randomised.plan if s.role == "sag_t1")
    planned = series.stacks[0]
    deformed = randomised.sampled[series.series_number][0]
    straight = sample_stack(randomised.anatomy, planned)
    assert (deformed.zones != straight.zones).mean() > 1e-4, "the deformation moved nothing"
    image = randomised.images[series.series_number][0]
    assert within_label_spread(image, deformed.labels) < 0.9 * within_label_spread(image, straight.labels)

    truth = write_study(tmp_path, randomised, PhantomOptions(style=RANDOMISED, label_maps=False))
    series_uid = next(r.series_uid for r in truth.series if r.role == "sag_t1")
    no_sops = [""] * planned.geometry.n_slices
    checked = moved = 0
    for finding in truth.findings:
        written = [b for b in finding.boxes if b.series_uid == series_uid]
        if not written:
            continue
        zone = zone_id(finding.level, finding.region, finding.side)
        expected = box_keys(zone_boxes(deformed, planned.geometry, zone, series_uid, no_sops))
        assert box_keys(written) == expected
        checked += 1
        moved += expected != box_keys(zone_boxes(straight, planned.geometry, zone, series_uid, no_sops))
    assert checked >= 5 and moved >= 1
    assert truth.extra["phantom"]["style"] == RANDOMISED


def test_deformation_is_smooth_small_and_invertible():
    rng = np.random.default_rng(3)
    points = rng.uniform(-150.0, 150.0, (2000, 3))
    for seed in range(10):
        deformation = SmoothDeformation.random(np.random.default_rng(seed))
        shift = np.linalg.norm(deformation.displacement(points), axis=1)
        assert shift.max() <= 3.0 * np.sqrt(3) and max(f.max_gradient for f in deformation.fields) <= 0.04 + 1e-9
        back = deformation.inverse(deformation.apply(points))
        assert np.abs(back - points).max() < 0.01


@pytest.mark.parametrize("family", [T1_LIKE, T2_LIKE])
def test_contrast_relations_hold_over_many_draws(family):
    rng = np.random.default_rng(11)
    nucleus = int(NUCLEUS_LABELS[3])
    seen_means = []
    for _ in range(400):
        table = draw_randomised(rng, family, {nucleus: 0.0})
        m = table.means
        fat, csf, muscle, annulus = (min(m[int(t)] for t in FAT_LABELS), m[int(Tissue.CSF)],
                                     m[int(Tissue.MUSCLE)], m[int(Tissue.ANNULUS)])
        dark = max(m[int(t)] for t in DARK_LABELS)
        if family == T1_LIKE:
            assert fat > csf and fat > muscle
        else:
            assert csf > muscle and csf > annulus and m[nucleus] > annulus
        assert dark <= 0.15 and dark < max(csf, fat)
        assert np.all(table.sds >= 0) and np.all(table.sds <= 0.06 * np.maximum(m, 0.1) + 1e-6)
        seen_means.append(m[[int(Tissue.CSF), int(Tissue.MUSCLE), int(Tissue.KIDNEY)]])
    spread = np.ptp(np.array(seen_means), axis=0)
    assert np.all(spread > 0.4), "intensities are not drawn from wide ranges"


def test_disc_degeneration_darkens_the_nucleus_on_t2_like_series():
    nucleus = int(NUCLEUS_LABELS[3])
    for seed in range(50):
        healthy = draw_randomised(np.random.default_rng(seed), T2_LIKE, {nucleus: 0.0}).means
        degenerated = draw_randomised(np.random.default_rng(seed), T2_LIKE, {nucleus: 1.0}).means
        annulus = healthy[int(Tissue.ANNULUS)]
        assert degenerated[nucleus] < healthy[nucleus]
        assert degenerated[nucleus] - annulus < 0.2 * (healthy[nucleus] - annulus)


def test_unseen_style_is_held_out_and_different():
    assert UNSEEN in STYLES and UNSEEN not in TRAINING_STYLES
    table = draw_unseen(np.random.default_rng(0), {})
    assert np.all(table.sds == 0) and table.means.min() >= 0 and table.means.max() <= 1
    violated = sum(draw_unseen(np.random.default_rng(s), {}).means[int(Tissue.CSF)] <
                   draw_unseen(np.random.default_rng(s), {}).means[int(Tissue.MUSCLE)] for s in range(100))
    assert 20 < violated < 80, "the unseen style should not keep the T2 relations"


def test_kspace_truncation_rings_at_a_sharp_edge():
    image = np.zeros((128, 128))
    image[:, 64:] = 1.0
    full = truncate_kspace(image, 1.0, 1.0)
    assert np.allclose(np.real(full), image, atol=1e-9)
    ringing = np.real(truncate_kspace(image, 1.0, 0.4))
    row = ringing[64, 20:110]
    assert row.max() > 1.05, "no overshoot at the edge"
    assert row.min() < -0.03, "no undershoot at the edge"
    assert np.allclose(ringing[:, 10:20], ringing[0, 10:20], atol=1e-9), "rows were blurred too"


def test_acquisition_ranges_are_clinical(randomised):
    original = plan_protocol(randomised.anatomy, get_profile("3T-philips"), np.random.default_rng(0), axial_stack=True)
    for seed in range(40):
        plan = randomise_plan(original, np.random.default_rng(seed))
        assert plan[0].stacks[0] is plan[1].stacks[0], "sagittal T1 and T2 no longer share one stack"
        for before, series in zip(original, plan, strict=True):
            assert 3.0 <= series.slice_thickness <= 5.0
            gap = series.spacing_between_slices - series.slice_thickness
            assert (gap == 0.0) if series.role == "ax_t2_stack" else (0.0 <= gap <= 1.0)
            low, high = SAGITTAL_FOV_MM if series.role.startswith("sag") else AXIAL_FOV_MM
            for old, new in zip(before.stacks, series.stacks, strict=True):
                g = new.geometry
                assert low <= g.columns * g.pixel_spacing[1] <= high
                assert g.rows in RECONSTRUCTED_MATRICES and g.columns in RECONSTRUCTED_MATRICES
                assert new.acquired_shape[0] <= g.rows and new.acquired_shape[1] <= g.columns
                assert np.allclose(g.row_direction, old.geometry.row_direction)
                assert new.level == old.level
                if g.n_slices > 1:
                    steps = np.linalg.norm(np.diff(g.slice_origins, axis=0), axis=1)
                    assert np.allclose(steps, series.spacing_between_slices)


def test_vendor_scaling_draws_12_and_16_bit_ranges():
    profile = get_profile("1.5T-ge")
    drawn = [vendor_scaled_profile(profile, np.random.default_rng(s)).vendor for s in range(60)]
    assert {v.bits_stored for v in drawn} == {12, 16}
    assert all(0 < v.stored_max <= 2 ** v.bits_stored - 1 for v in drawn)
    assert len({v.stored_max for v in drawn}) > 30
    assert profile.vendor.stored_max == 1023, "the shared vendor style was modified"


def test_classic_is_the_default_and_mixed_classic_studies_are_unchanged():
    assert PhantomOptions().style == CLASSIC
    chosen = {i: resolve_style(MIXED_STYLE, appearance_rng(SEED, i)) for i in range(20)}
    assert set(chosen.values()) == {CLASSIC, RANDOMISED}
    index = next(i for i, style in chosen.items() if style == CLASSIC)
    options = {"profile": "3T-ge"}
    classic = render_study(SEED, index, PhantomOptions(**options))
    mixed = render_study(SEED, index, PhantomOptions(style=MIXED_STYLE, **options))
    assert mixed.style == CLASSIC and mixed.identity == classic.identity
    for number, stacks in classic.images.items():
        for a, b in zip(stacks, mixed.images[number], strict=True):
            assert np.array_equal(a, b)


def test_randomised_alignment_spread_and_grades_measured_on_it(randomised):
    _, classic_subject = study_subject(SEED, 0)
    assert randomised.subject.lordosis_deg != classic_subject.lordosis_deg
    assert randomised.subject.discs is classic_subject.discs or \
        [d.height for d in randomised.subject.discs] == [d.height for d in classic_subject.discs]
    assert study_grades(SEED, 0, style=RANDOMISED) == randomised.grades
    lordosis = [render_lordosis(i) for i in range(200)]
    assert min(lordosis) < 38.0 and max(lordosis) > 62.0, "the published spread is not wider than classic"


def render_lordosis(index: int) -> float:
    _, subject = study_subject(SEED, index)
    return styled_subject(SEED, index, subject, RANDOMISED)[2].lordosis_deg


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown phantom style"):
        resolve_style("fancy", np.random.default_rng(0))


def test_cli_style_option_is_written_and_recorded(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["phantom", "--out", str(out), "--studies", "1", "--seed", "5", "--style", "unseen",
                 "--no-label-maps", "--workers", "1", "--profile", "1.5T-philips"])
    assert code == 0, capsys.readouterr().err
    truth = read_findings(out / "PHANTOM_0000" / "ground_truth.json")
    assert truth.extra["phantom"]["style"] == UNSEEN
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["style"] == UNSEEN and manifest["studies"][0]["style"] == UNSEEN
    assert any(b for f in truth.findings for b in f.boxes)
    with pytest.raises(SystemExit):
        main(["phantom", "--out", str(tmp_path / "bad"), "--style", "fancy"])
    assert "--style" in capsys.readouterr().err
