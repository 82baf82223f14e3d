"""Rendering styles of the phantom and the random tissue intensities of the non-classic styles.

The networks must learn the anatomy, not the phantom's look. Following the domain-randomisation idea of
SynthSeg (Billot et al., "SynthSeg: Segmentation of brain MRI scans of any contrast and resolution without
retraining", Medical Image Analysis 86, 2023) — our own code, adapted to the lumbar spine — the
``randomised`` style draws, per study and per series, a random mean intensity and a within-label standard
deviation for every tissue label, so each label is a Gaussian and the image a Gaussian mixture. Unlike
SynthSeg, a few relations that a radiologist relies on are kept, by contrast family of the series role:

* T1-like (``sag_t1``): fat (subcutaneous, epidural, foraminal, fatty marrow) brighter than CSF and muscle;
* T2-like (``sag_t2``, ``ax_t2``, ``ax_t2_stack``): CSF brighter than muscle and annulus; the nucleus
  brighter than the annulus and darkened by disc degeneration (the grades stay visible as they are today);
* both: cortical bone, ligament (flavum, longitudinal ligaments) and flowing blood in the dark part.

Styles:

* ``classic`` — the original fixed spin-echo relaxation tables (:mod:`lss.phantom.render`); the default,
  byte-identical for a given seed.
* ``randomised`` — the randomised look above, with smooth deformation, bias, point spread, k-space
  truncation, random SNR and clinical acquisition ranges (:mod:`lss.phantom.appearance_render`).
* ``unseen`` — a different family kept for held-out robustness tests: intensities per label from a
  Beta(0.5, 0.5) law over [0, 1] with no relations and no within-label spread, strong ringing, a linear
  bias ramp and Gaussian (not Rician) noise. **Training must never use it**: it exists only so that a
  model trained on ``classic``/``randomised``/``mixed`` data can be tested on a look it has never seen.
* ``mixed`` — one of ``classic`` or ``randomised`` per study at random (training sets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lss.phantom.tissues import NUCLEUS_BY_LEVEL_INDEX, Tissue

CLASSIC = "classic"
RANDOMISED = "randomised"
UNSEEN = "unseen"
MIXED_STYLE = "mixed"
STYLES: tuple[str, ...] = (CLASSIC, RANDOMISED, UNSEEN, MIXED_STYLE)
TRAINING_STYLES: tuple[str, ...] = (CLASSIC, RANDOMISED, MIXED_STYLE)  # never UNSEEN
APPEARANCE_STREAM = 0x5EED_A99  # third element of the appearance RNG's seed: [seed, index, APPEARANCE_STREAM]

T1_LIKE = "t1"
T2_LIKE = "t2"
FAT_LABELS = (Tissue.FAT, Tissue.EPIDURAL_FAT, Tissue.FORAMINAL_FAT, Tissue.MARROW_FATTY)
DARK_LABELS = (Tissue.CORTEX, Tissue.LIGAMENT, Tissue.VESSEL)
NUCLEUS_LABELS = (*NUCLEUS_BY_LEVEL_INDEX, Tissue.NUCLEUS_OTHER)
N_LABELS = 256


def appearance_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of a study's appearance, independent of the classic stream ``[seed, index]``."""
    return np.random.default_rng([seed, index, APPEARANCE_STREAM])


def resolve_style(style: str, rng: np.random.Generator) -> str:
    """The style one study is rendered in: ``mixed`` picks classic or randomised with equal odds."""
    if style not in STYLES:
        raise ValueError(f"unknown phantom style {style!r}; valid styles: {', '.join(STYLES)}")
    if style == MIXED_STYLE:
        return CLASSIC if rng.random() < 0.5 else RANDOMISED
    return style


def contrast_family(role: str) -> str:
    """'t1' for the sagittal T1 role, 't2' for the T2-weighted roles."""
    return T1_LIKE if role == "sag_t1" else T2_LIKE


@dataclass(frozen=True)
class LabelIntensities:
    """Mean and within-label standard deviation of every tissue label (index = label), image units 0..1."""

    means: np.ndarray  # (256,) float32
    sds: np.ndarray  # (256,) float32

    def sample(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Intensities of a label array: each label's Gaussian, drawn independently per sample."""
        noise = rng.standard_normal(labels.shape, dtype=np.float32)
        return self.means[labels] + self.sds[labels] * noise


def draw_randomised(rng: np.random.Generator, family: str, degeneration: dict[int, float]) -> LabelIntensities:
    """Random Gaussian-mixture intensities of one series of the ``randomised`` style.

    ``degeneration`` maps a nucleus label to its disc's degeneration 0..1 (as ``render.Contrast``).
    """
    means = rng.uniform(0.05, 1.0, N_LABELS).astype(np.float32)
    means[int(Tissue.AIR)] = rng.uniform(0.0, 0.03)
    for label in DARK_LABELS:
        means[int(label)] = rng.uniform(0.0, 0.15)
    fat = rng.uniform(0.0, 1.0)
    if family == T1_LIKE:
        csf, muscle = rng.uniform(0.03, 0.55, 2)
        fat = rng.uniform(max(csf, muscle) + 0.2, 1.0)
        annulus = rng.uniform(0.05, 0.6)
        nucleus = rng.uniform(annulus, min(1.0, annulus + 0.4))
        darkening = 0.2
    else:
        muscle, annulus = rng.uniform(0.05, 0.5, 2)
        csf = rng.uniform(max(muscle, annulus) + 0.25, 1.0)
        nucleus = rng.uniform(annulus + 0.25, 1.0)
        darkening = 0.85
    for label in FAT_LABELS:  # the fats share one tissue but not one exact value
        means[int(label)] = np.clip(fat * rng.uniform(0.9, 1.05), 0.0, 1.0)
    means[int(Tissue.CSF)] = csf
    means[int(Tissue.FACET_FLUID)] = csf * rng.uniform(0.8, 1.0)
    means[int(Tissue.MUSCLE)] = muscle
    means[int(Tissue.ANNULUS)] = annulus
    means[int(Tissue.HERNIATION)] = annulus + rng.uniform(0.0, 0.35) * (nucleus - annulus)
    for label in NUCLEUS_LABELS:  # a degenerated nucleus dries out and approaches the annulus
        loss = degeneration.get(int(label), 0.0)
        means[int(label)] = annulus + (nucleus - annulus) * (1.0 - darkening * loss)
    sds = (rng.uniform(0.01, 0.06, N_LABELS) * np.maximum(means, 0.1)).astype(np.float32)
    return LabelIntensities(means.astype(np.float32), sds)


def draw_unseen(rng: np.random.Generator, degeneration: dict[int, float]) -> LabelIntensities:
    """Intensities of the held-out ``unseen`` style: Beta(0.5, 0.5) per label, no relations, no spread.

    Degeneration still moves the nucleus towards the annulus, so the disc levels stay gradable.
    """
    means = rng.beta(0.5, 0.5, N_LABELS).astype(np.float32)
    means[int(Tissue.AIR)] = 0.0
    annulus = means[int(Tissue.ANNULUS)]
    for label in NUCLEUS_LABELS:
        means[int(label)] = annulus + (means[int(label)] - annulus) * (1.0 - 0.85 * degeneration.get(int(label), 0.0))
    return LabelIntensities(means, np.zeros(N_LABELS, dtype=np.float32))


def draw_intensities(style: str, rng: np.random.Generator, role: str, degeneration: dict[int, float]
                     ) -> LabelIntensities:
    """The label intensities of one series of a non-classic style."""
    if style == UNSEEN:
        return draw_unseen(rng, degeneration)
    if style == RANDOMISED:
        return draw_randomised(rng, contrast_family(role), degeneration)
    raise ValueError(f"style {style!r} has no random intensities")
