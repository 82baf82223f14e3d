"""Phantom options that shape the images and anatomy: the noise level and the canal's shape."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lss.phantom.anatomy_spine import posterior_arch_line
from lss.phantom.generate import PhantomOptions, render_study
from lss.phantom.tissues import Tissue


def background_noise(snr_scale: float) -> float:
    """Standard deviation of the sagittal T1 signal in air (pure noise) for one study."""
    study = render_study(11, 0, PhantomOptions(profile="1.5T-siemens", snr_scale=snr_scale))
    sagittal = next(s for s in study.plan if s.role == "sag_t1")
    pixels = study.images[sagittal.series_number][0]
    # air well away from the body: partial volume at the skin would add signal, not noise
    air = ndimage.binary_erosion(study.sampled[sagittal.series_number][0].labels == Tissue.AIR, iterations=4)
    assert air.sum() > 1000, "no air in the sagittal field of view to measure noise on"
    return float(pixels[air].std())


def test_snr_option_scales_the_noise() -> None:
    noisy, clean = background_noise(0.5), background_noise(2.0)
    assert noisy > 3.0 * clean, (noisy, clean)  # 4x the SNR ratio; Rician background ~ proportional to sigma


def test_round_canals_have_laminae_meeting_the_pedicles_further_back() -> None:
    study = render_study(11, 1, PhantomOptions(profile="3T-ge", label_maps=False))
    vertebra = study.subject.vertebra("L4")
    corner = np.array(vertebra.canal_half_width)
    vertebra.trefoil = 1.0
    trefoil = float(posterior_arch_line(vertebra, corner))
    vertebra.trefoil = 0.0
    round_ = float(posterior_arch_line(vertebra, corner))
    assert abs(round_ - trefoil - 3.0) < 1e-9
    assert float(posterior_arch_line(vertebra, np.array(0.0))) == vertebra.posterior_wall + vertebra.canal_depth
    assert 0.0 <= study.subject.trefoil <= 1.0
    assert {v.trefoil for v in study.subject.vertebrae} != {1.0}, "the subject's canal shape never reached a vertebra"
