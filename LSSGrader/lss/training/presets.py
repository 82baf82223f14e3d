"""Training presets: ``demo`` (the bundled CPU model), ``fast`` (a quick check), ``paper`` (the reference setup).

| preset | detector backbone, image size | grader crop | members | epochs (detector / grader) |
|---|---|---|---|---|
| demo  | RegNetX-400MF-FPN (≈ 1.2 M), 320 px | 64 px  | 9 (3 splits × 3 runs) | 5 × 600 images / 8-16 × 500 crops |
| fast  | RegNetX-400MF-FPN, 320 px           | 64 px  | 3 (3 splits × 1 run)  | 3 × 300 images / 8 × 300 crops |
| paper | ResNet101-FPN (≈ 60 M), 600–1024 px | 150 px | 9 (3 splits × 3 runs) | 20 / 60 (all data each epoch) |

``demo`` and ``fast`` draw a random subset of images / crops each epoch to fit a CPU budget, weight the
classes by the square root of their inverse frequency (``paper``: the full inverse frequency, as the
reference), and train and test the graders on the slices within one slice of the middle of each level's
run (the disc lies there). ``demo`` also validates its detectors on a fixed subset of 200 images and gives
each region type its own grader epochs (canal 8, which it learns fastest; recess 16; foramen 14): this
keeps a run on 120 phantom studies under 30 minutes on 2 CPU cores.

Every preset normalises intensities the original way (``IntensityChoice()``: per-slice percentiles) unless
``preset(..., intensity=IntensityChoice("series_robust", "context_robust"))`` asks for per-series robust
standardisation and crops standardised by their surroundings (``lss.preprocess.intensity``); the plan's choice
is written into ``bundle.json["preprocessing"]`` and grading reads it from there. Augmentation
(``lss.training.augment``, MONAI transforms) is on in every preset; ``preset(..., augment=False)`` turns it off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from lss.entry.choices import PRESET_CHOICES
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import DetectorConfig
from lss.nets.grader import GraderConfig
from lss.preprocess.detector_classes import DETECTOR_CLASSES
from lss.preprocess.intensity import IntensityChoice
from lss.training.train_detector import DetectorTraining
from lss.training.train_grader import GraderTraining

PRESETS = PRESET_CHOICES


@dataclass
class TrainingPlan:
    """Everything a training run needs besides the data: networks, optimisation and the ensemble layout."""

    name: str
    detector_backbone: str = "regnet"
    detector_image_size: int = 320
    detector_training: DetectorTraining = field(default_factory=DetectorTraining)
    grader: GraderConfig = field(default_factory=lambda: GraderConfig(crop_size=64))
    grader_training: GraderTraining = field(default_factory=GraderTraining)
    grader_epochs_by_region: dict[str, int] = field(default_factory=dict)  # region → epochs, overriding the above
    members: int = 9
    n_splits: int = 3
    validation_fraction: float = 0.2
    segmenter_epochs: int = 8
    segmenter_slices: int = 400  # axial slices (chosen at random) the segmenter trains on
    intensity: IntensityChoice = field(default_factory=IntensityChoice)  # recorded in bundle.json "preprocessing"

    def detector_config(self, plane: Plane) -> DetectorConfig:
        """The detector configuration of a plane under this plan."""
        names = list(DETECTOR_CLASSES[plane])
        if self.detector_backbone == "paper":
            return DetectorConfig.paper(names)
        size = self.detector_image_size
        return DetectorConfig(class_names=names, backbone=self.detector_backbone, min_size=size,
                              max_size=int(size * 1.2))

    def grader_training_for(self, grader: Region | str) -> GraderTraining:
        """The settings of one grader — a region type, or a grader name such as ``"central_canal_sagittal"`` —
        with its own epoch count when the plan gives one."""
        epochs = self.grader_epochs_by_region.get(grader.value if isinstance(grader, Region) else grader)
        return self.grader_training if epochs is None else replace(self.grader_training, epochs=epochs)

    def member_split(self, member: int) -> tuple[int, int]:
        """(split, run) of an ensemble member: members cycle through the splits, then start new runs."""
        return member % self.n_splits, member // self.n_splits

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


def preset(name: str, members: int | None = None, detector_epochs: int | None = None,
           grader_epochs: int | None = None, intensity: IntensityChoice | None = None,
           augment: bool = True) -> TrainingPlan:
    """A named preset, optionally with another member count or epoch counts, another intensity normalisation
    (e.g. ``IntensityChoice("series_robust", "context_robust")``; the original methods by default) and with
    training augmentation switched off (``augment=False``)."""
    if name == "demo":
        plan = TrainingPlan("demo", detector_training=DetectorTraining(epochs=5, images_per_epoch=600,
                                                                       validation_images=200),
                            grader_epochs_by_region={"central_canal": 8, "lateral_recess": 16,
                                                     "central_canal_sagittal": 6},
                            grader_training=GraderTraining(epochs=14, patience=6, samples_per_epoch=500,
                                                           class_weight_power=0.5, max_slice_offset=1.0),
                            segmenter_epochs=4)
    elif name == "fast":
        plan = TrainingPlan("fast", detector_training=DetectorTraining(epochs=3, images_per_epoch=300),
                            grader_training=GraderTraining(epochs=8, samples_per_epoch=300, class_weight_power=0.5,
                                                           max_slice_offset=1.0),
                            members=3, segmenter_epochs=1, segmenter_slices=100)
    elif name == "paper":
        plan = TrainingPlan("paper", detector_backbone="paper", detector_image_size=600,
                            detector_training=DetectorTraining(epochs=20, batch_size=2, patience=6),
                            grader=GraderConfig(crop_size=150), grader_training=GraderTraining(epochs=60, patience=12),
                            segmenter_epochs=20)
    else:
        raise ValueError(f"unknown preset {name!r} (expected one of {', '.join(PRESETS)})")
    if members is not None:
        if members < 1:
            raise ValueError(f"--members must be at least 1, got {members}")
        plan.members = members
        plan.n_splits = min(plan.n_splits, members)
    if detector_epochs is not None:
        plan.detector_training = replace(plan.detector_training, epochs=detector_epochs)
    if grader_epochs is not None:
        plan.grader_training = replace(plan.grader_training, epochs=grader_epochs)
        plan.grader_epochs_by_region = {}
    if intensity is not None:
        plan.intensity = intensity
    if not augment:
        plan.detector_training = replace(plan.detector_training, augment=replace(plan.detector_training.augment,
                                                                                 enabled=False))
        plan.grader_training = replace(plan.grader_training, augment=replace(plan.grader_training.augment,
                                                                             enabled=False))
    return plan
