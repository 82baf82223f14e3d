"""Scanner profiles for the synthetic phantom: field strength (tissue relaxation) × vendor style (DICOM habits).

A profile is named ``'<field>-<vendor>'``, e.g. ``'1.5T-siemens'`` or ``'3T-ge'``. The special name ``'mixed'``
means "pick one profile per study at random" and is resolved by :func:`choose_profile`.

Relaxation values are literature-like round numbers for adult lumbar-spine tissues (after Stanisz et al.,
MRM 2005; de Bazelaire et al., Radiology 2004; Gold et al., AJR 2004), chosen so that a spin-echo signal model
gives the familiar contrasts: fat bright on T1 and on FSE T2, CSF dark on T1 and bright on T2, disc nucleus
bright and annulus dark on T2, cortical bone, ligaments and flowing blood dark on both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

SeriesRole = Literal["sag_t1", "sag_t2", "ax_t2", "ax_t2_stack"]
SERIES_ROLES: tuple[SeriesRole, ...] = ("sag_t1", "sag_t2", "ax_t2", "ax_t2_stack")
"""Series roles: sagittal T1, sagittal T2, per-level angled axial T2 blocks, straight contiguous axial T2 stack."""

GYROMAGNETIC_RATIO_MHZ_PER_T = 42.577478
"""Proton gyromagnetic ratio γ/2π in MHz/T (CODATA 2018, 42.577478518)."""

MIXED = "mixed"


class Relaxation(NamedTuple):
    """Relative proton density (0..1) and relaxation times in ms of one tissue at one field strength."""

    proton_density: float
    t1: float
    t2: float


class SequenceTiming(NamedTuple):
    """Typical fast/turbo spin-echo timing for one series role."""

    repetition_time: float  # ms
    echo_time: float  # ms
    echo_train_length: int


TISSUES: tuple[str, ...] = (
    "air", "fat", "csf", "disc_nucleus", "disc_annulus", "marrow", "cortical_bone", "muscle", "ligament",
    "nerve", "epidural_fat", "vessel", "kidney", "skin", "cartilage", "facet_fluid", "viscera",
)  # fmt: skip

# Fat: the true T2 of fat is ≈ 80 ms (1.5 T), but in fast/turbo spin echo the rapid refocusing train suppresses
# J-coupling dephasing, so fat stays bright on FSE T2. We store that *effective* FSE T2 (≈ 130 ms) because every
# phantom series is FSE/TSE. Flowing blood ("vessel") is a flow void: its low proton density is an effective
# value standing in for spins that leave the slice between excitation and refocusing.
_RELAXATION_1P5T: dict[str, Relaxation] = {
    "air": Relaxation(0.0, 1000.0, 1.0),
    "fat": Relaxation(1.0, 260.0, 130.0),  # FSE-effective T2, see above
    "csf": Relaxation(1.0, 4000.0, 2000.0),
    "disc_nucleus": Relaxation(0.85, 1100.0, 120.0),
    "disc_annulus": Relaxation(0.7, 800.0, 40.0),
    "marrow": Relaxation(0.9, 550.0, 70.0),  # adult lumbar: mixed fatty / red marrow
    "cortical_bone": Relaxation(0.05, 1000.0, 1.0),
    "muscle": Relaxation(0.8, 870.0, 47.0),
    "ligament": Relaxation(0.3, 600.0, 20.0),
    "nerve": Relaxation(0.8, 1000.0, 80.0),
    "epidural_fat": Relaxation(0.95, 280.0, 130.0),  # FSE-effective T2, like fat
    "vessel": Relaxation(0.08, 1400.0, 250.0),  # flow void
    "kidney": Relaxation(0.9, 970.0, 87.0),
    "skin": Relaxation(0.7, 650.0, 40.0),
    "cartilage": Relaxation(0.75, 1020.0, 30.0),
    "facet_fluid": Relaxation(0.95, 3000.0, 1000.0),
    "viscera": Relaxation(0.8, 800.0, 60.0),
}

# At 3 T, T1 lengthens by roughly 15-30 % (more for fat and blood, little for CSF) and T2 shortens slightly.
_RELAXATION_3T: dict[str, Relaxation] = {
    "air": Relaxation(0.0, 1000.0, 1.0),
    "fat": Relaxation(1.0, 370.0, 120.0),  # FSE-effective T2
    "csf": Relaxation(1.0, 4300.0, 1900.0),
    "disc_nucleus": Relaxation(0.85, 1350.0, 110.0),
    "disc_annulus": Relaxation(0.7, 1000.0, 36.0),
    "marrow": Relaxation(0.9, 680.0, 60.0),
    "cortical_bone": Relaxation(0.05, 1200.0, 1.0),
    "muscle": Relaxation(0.8, 1130.0, 42.0),
    "ligament": Relaxation(0.3, 740.0, 18.0),
    "nerve": Relaxation(0.8, 1250.0, 72.0),
    "epidural_fat": Relaxation(0.95, 390.0, 120.0),  # FSE-effective T2
    "vessel": Relaxation(0.08, 1900.0, 200.0),  # flow void
    "kidney": Relaxation(0.9, 1200.0, 78.0),
    "skin": Relaxation(0.7, 800.0, 36.0),
    "cartilage": Relaxation(0.75, 1240.0, 27.0),
    "facet_fluid": Relaxation(0.95, 3400.0, 900.0),
    "viscera": Relaxation(0.8, 980.0, 54.0),
}

_TIMING_1P5T: dict[str, SequenceTiming] = {
    "sag_t1": SequenceTiming(550.0, 10.0, 3),
    "sag_t2": SequenceTiming(3500.0, 100.0, 17),
    "ax_t2": SequenceTiming(4000.0, 100.0, 16),
    "ax_t2_stack": SequenceTiming(4500.0, 100.0, 16),
}

_TIMING_3T: dict[str, SequenceTiming] = {
    "sag_t1": SequenceTiming(650.0, 9.0, 4),
    "sag_t2": SequenceTiming(3800.0, 95.0, 20),
    "ax_t2": SequenceTiming(4500.0, 95.0, 18),
    "ax_t2_stack": SequenceTiming(5000.0, 95.0, 18),
}


@dataclass(frozen=True)
class FieldStrength:
    """A main-field strength with its tissue relaxation table and typical FSE timings."""

    name: str  # '1.5T' or '3T'
    tesla: float
    relative_snr: float  # signal-to-noise relative to 1.5 T
    tissues: Mapping[str, Relaxation] = field(hash=False)
    timings: Mapping[str, SequenceTiming] = field(hash=False)

    @property
    def imaging_frequency_mhz(self) -> float:
        """Proton Larmor frequency in MHz (DICOM ImagingFrequency)."""
        return GYROMAGNETIC_RATIO_MHZ_PER_T * self.tesla

    def spin_echo_signal(self, tissue: str, repetition_time: float, echo_time: float) -> float:
        """Idealised spin-echo signal PD·(1 − e^(−TR/T1))·e^(−TE/T2) of one tissue (arbitrary units, ≥ 0)."""
        pd, t1, t2 = self.tissues[tissue]
        return pd * (1.0 - math.exp(-repetition_time / t1)) * math.exp(-echo_time / t2)


FIELD_STRENGTHS: dict[str, FieldStrength] = {
    "1.5T": FieldStrength("1.5T", 1.5, 1.0, _RELAXATION_1P5T, _TIMING_1P5T),
    "3T": FieldStrength("3T", 3.0, 1.7, _RELAXATION_3T, _TIMING_3T),
}


@dataclass(frozen=True)
class VendorStyle:
    """How one vendor's scanners label, scale and store their images.

    ``image_matrix`` is the reconstructed (rows, columns) a renderer should use per role; ``phase_resolution`` is
    the fraction of it actually phase-encoded (for AcquisitionMatrix). Stored pixels are scaled per series so
    the series' brightest signal maps to ``stored_max``; vendors with ``rescale_value_max`` set also write
    RescaleSlope/RescaleIntercept so that ``stored·slope + intercept`` spans 0..``rescale_value_max``.
    ``file_layout`` is 'flat' (every file directly in the study folder) or 'nested' (``DICOM/S<series>/``);
    file names come from a hash of the SOP Instance UID and never encode slice order.
    """

    name: str
    manufacturer: str
    model_names: Mapping[str, str] = field(hash=False)  # field-strength name → ManufacturerModelName
    series_descriptions: Mapping[str, str] = field(hash=False)  # role → SeriesDescription
    axial_blocks_in_one_series: bool  # False: one series per per-level axial block
    image_type: tuple[str, ...]
    scanning_sequence: str
    sequence_variant: tuple[str, ...]
    scan_options: tuple[str, ...]
    sequence_name_template: str  # formatted with echo_train_length=
    image_matrix: Mapping[str, tuple[int, int]] = field(hash=False)  # role → (rows, columns)
    phase_resolution: float
    bits_stored: int
    stored_max: int
    rescale_value_max: float | None  # None: no RescaleSlope/Intercept written
    file_layout: Literal["flat", "nested"]
    file_prefix: str

    def sequence_name(self, echo_train_length: int) -> str:
        """The vendor's SequenceName for a given echo train length."""
        return self.sequence_name_template.format(echo_train_length=echo_train_length)


VENDOR_STYLES: dict[str, VendorStyle] = {
    "siemens": VendorStyle(
        name="siemens",
        manufacturer="SIEMENS",
        model_names={"1.5T": "Avanto", "3T": "Skyra"},
        series_descriptions={
            "sag_t1": "t1_tse_sag",
            "sag_t2": "t2_tse_sag",
            "ax_t2": "t2_tse_tra",
            "ax_t2_stack": "t2_tse_tra_stack",
        },
        axial_blocks_in_one_series=True,
        image_type=("ORIGINAL", "PRIMARY", "M", "NORM", "DIS2D"),
        scanning_sequence="SE",
        sequence_variant=("SK", "SP", "OSP"),
        scan_options=("PFP",),
        sequence_name_template="*tse2d1_{echo_train_length}",
        image_matrix={"sag_t1": (384, 384), "sag_t2": (384, 384), "ax_t2": (320, 320), "ax_t2_stack": (320, 320)},
        phase_resolution=0.7,
        bits_stored=12,
        stored_max=4095,
        rescale_value_max=None,
        file_layout="flat",
        file_prefix="MR",
    ),
    "ge": VendorStyle(
        name="ge",
        manufacturer="GE MEDICAL SYSTEMS",
        model_names={"1.5T": "SIGNA Explorer", "3T": "DISCOVERY MR750"},
        series_descriptions={
            "sag_t1": "Sag T1 FSE",
            "sag_t2": "Sag T2 FRFSE",
            "ax_t2": "Ax T2 FRFSE",
            "ax_t2_stack": "Ax T2 FRFSE Stack",
        },
        axial_blocks_in_one_series=True,
        image_type=("ORIGINAL", "PRIMARY", "OTHER"),
        scanning_sequence="SE",
        sequence_variant=("SK", "OSP"),
        scan_options=("FAST_GEMS", "FILTERED_GEMS"),
        sequence_name_template="frfse-xl",
        image_matrix={"sag_t1": (512, 512), "sag_t2": (512, 512), "ax_t2": (256, 256), "ax_t2_stack": (256, 256)},
        phase_resolution=0.75,
        bits_stored=16,
        stored_max=1023,
        rescale_value_max=None,
        file_layout="nested",
        file_prefix="I",
    ),
    "philips": VendorStyle(
        name="philips",
        manufacturer="Philips Medical Systems",
        model_names={"1.5T": "Ingenia", "3T": "Achieva"},
        series_descriptions={
            "sag_t1": "T1W_TSE_SAG",
            "sag_t2": "T2W_TSE_SAG",
            "ax_t2": "T2W_TSE_TRA",
            "ax_t2_stack": "T2W_TSE_TRA_STACK",
        },
        axial_blocks_in_one_series=False,
        image_type=("ORIGINAL", "PRIMARY", "M_SE", "M", "SE"),
        scanning_sequence="SE",
        sequence_variant=("SK",),
        scan_options=("OTHER",),
        sequence_name_template="TSE",
        image_matrix={"sag_t1": (448, 448), "sag_t2": (448, 448), "ax_t2": (400, 400), "ax_t2_stack": (400, 400)},
        phase_resolution=0.8,
        bits_stored=12,
        stored_max=4095,
        rescale_value_max=6000.0,
        file_layout="flat",
        file_prefix="IM_",
    ),
}


@dataclass(frozen=True)
class Profile:
    """One simulated scanner: a field strength and a vendor style."""

    field_strength: FieldStrength
    vendor: VendorStyle

    @property
    def name(self) -> str:
        """E.g. '1.5T-siemens'."""
        return f"{self.field_strength.name}-{self.vendor.name}"

    @property
    def model_name(self) -> str:
        """ManufacturerModelName of this vendor's scanner at this field strength."""
        return self.vendor.model_names[self.field_strength.name]


PROFILE_NAMES: tuple[str, ...] = tuple(f"{fs}-{vendor}" for fs in FIELD_STRENGTHS for vendor in VENDOR_STYLES)


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (e.g. '3T-ge'); ValueError naming the valid choices otherwise."""
    field_name, _, vendor_name = name.partition("-")
    if field_name not in FIELD_STRENGTHS or vendor_name not in VENDOR_STYLES:
        raise ValueError(
            f"unknown scanner profile {name!r}; valid profiles: {', '.join(PROFILE_NAMES)} "
            f"(or {MIXED!r} to pick one per study at random)"
        )
    return Profile(FIELD_STRENGTHS[field_name], VENDOR_STYLES[vendor_name])


def choose_profile(rng: np.random.Generator, name: str) -> Profile:
    """The profile called ``name``, or for 'mixed' one drawn uniformly from all profiles with ``rng``."""
    if name == MIXED:
        return get_profile(PROFILE_NAMES[int(rng.integers(len(PROFILE_NAMES)))])
    return get_profile(name)
