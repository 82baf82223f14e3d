"""What a model bundle holds in memory: network configurations and weights, and its description."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lss.model.read import ModelRecord
from lss.model.vocabulary import Plane, Region
from lss.nets.detector import DetectorConfig, detector_from_state
from lss.nets.grader import GraderConfig, GradingCNN, grader_from_state
from lss.preprocess.sagittal_canal import SAGITTAL_CANAL

StateDict = dict[str, torch.Tensor]


@dataclass
class ModelBundle:
    """Detectors per plane, grader ensembles per region, an optional segmenter, an optional sagittal
    central-canal grader ensemble (``lss.preprocess.sagittal_canal``), and the bundle's description.

    ``description`` carries the human-facing fields of bundle.json: name, version, intended use and its
    limits, training data summary, held-out metrics. A loaded bundle knows its folder and the SHA-256 of its
    bundle.json.
    """

    detectors: dict[Plane, tuple[DetectorConfig, StateDict]]
    graders: dict[Region, tuple[GraderConfig, list[StateDict]]]
    segmenter: tuple[dict[str, Any], StateDict] | None = None
    description: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    manifest_sha256: str = ""
    sagittal_canal: tuple[GraderConfig, list[StateDict]] | None = None

    def record(self) -> ModelRecord:
        """What a grading run records of the bundle it used."""
        folder = self.folder or Path("")
        return ModelRecord(str(folder), self.description.get("name", folder.name), self.description.get("version"),
                           self.manifest_sha256, self.description.get("limitations", ""))

    def detector(self, plane: Plane, device: torch.device | str = "cpu") -> torch.nn.Module:
        """The plane's detector, weights loaded, in eval mode."""
        config, state = self.detectors[plane]
        return detector_from_state(config, state, device)

    def segmenter_model(self, device: torch.device | str = "cpu") -> torch.nn.Module | None:
        """The anatomy segmenter, weights loaded, in eval mode (None when the bundle has none)."""
        if self.segmenter is None:
            return None
        from lss.nets.segmenter import SegmenterConfig, build_segmenter

        config, state = self.segmenter
        model = build_segmenter(SegmenterConfig.from_dict(config))
        model.load_state_dict({k: v.float() for k, v in state.items()})
        return model.to(device).eval()

    def grader_members(self, region: Region, device: torch.device | str = "cpu") -> list[GradingCNN]:
        """Every ensemble member grading ``region``, weights loaded, in eval mode."""
        config, states = self.graders[region]
        return [grader_from_state(config, state, device) for state in states]

    def ensemble(self, name: str) -> tuple[GraderConfig, list[StateDict]]:
        """The grader ensemble of that name (``lss.preprocess.sagittal_canal.grader_name``); KeyError without it."""
        if name == SAGITTAL_CANAL:
            if self.sagittal_canal is None:
                raise KeyError(name)
            return self.sagittal_canal
        return self.graders[Region(name)]

    def sagittal_canal_members(self, device: torch.device | str = "cpu") -> list[GradingCNN]:
        """Every member of the sagittal central-canal ensemble (none when the bundle has none)."""
        if self.sagittal_canal is None:
            return []
        config, states = self.sagittal_canal
        return [grader_from_state(config, state, device) for state in states]
