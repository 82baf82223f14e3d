"""What the MONAI augmentation costs a training step on CPU: grader (batch 64 crops) and detector (batch 4 images)
steps without and with ``lss.training.augment``, and the augmentation alone.

Run: PYTHONPATH=LSSGrader .venv/bin/python Testing/benchmarks/bench_augment.py [--steps 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lss.model.vocabulary import Plane
from lss.nets.detector import DetectorConfig, build_detector
from lss.nets.grader import GraderConfig, GradingCNN
from lss.preprocess.detector_classes import DETECTOR_CLASSES
from lss.training.augment import AugmentConfig, Augmenter, crops_from_patches


def seconds_per_call(step: Callable[[], None], repeats: int) -> float:
    """Mean wall-clock seconds of ``step`` after one warm-up call."""
    step()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - started) / repeats


def grader_steps(steps: int) -> dict[str, float]:
    """Seconds per grader step (64 crops of 64 px) with augmentation off and on, and for the augmentation alone."""
    torch.manual_seed(0)
    model = GradingCNN(GraderConfig(crop_size=64))
    optimiser = torch.optim.AdamW(model.parameters(), 1e-3)
    patches, labels = torch.rand(64, 1, 128, 128), torch.randint(0, 4, (64,))
    augmenter = Augmenter(AugmentConfig(), 0)

    def step(augment: Augmenter | None) -> None:
        loss = F.cross_entropy(model(crops_from_patches(patches, 64, augment)), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return {"off": seconds_per_call(lambda: step(None), steps), "on": seconds_per_call(lambda: step(augmenter), steps),
            "augmentation": seconds_per_call(lambda: crops_from_patches(patches, 64, augmenter), steps)}


def detector_steps(steps: int) -> dict[str, float]:
    """Seconds per detector step (4 images of 320 px, regnet) with augmentation off and on."""
    torch.manual_seed(0)
    config = DetectorConfig(list(DETECTOR_CLASSES[Plane.AXIAL]), backbone="regnet", min_size=320, max_size=384)
    model = build_detector(config).train()
    optimiser = torch.optim.AdamW(model.parameters(), 2e-3)
    images = [torch.rand(1, 320, 320) for _ in range(4)]
    target = {"boxes": torch.tensor([[100.0, 100.0, 160.0, 150.0]]), "labels": torch.tensor([1])}
    augmenter = Augmenter(AugmentConfig.for_detector(), 0)

    def step(augment: Augmenter | None) -> None:
        pairs = [augment.detection(image, target) if augment else (image, target) for image in images]
        loss = sum(model([p[0] for p in pairs], [p[1] for p in pairs]).values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    return {"off": seconds_per_call(lambda: step(None), steps), "on": seconds_per_call(lambda: step(augmenter), steps),
            "augmentation": seconds_per_call(lambda: [augmenter.detection(i, target) for i in images], steps)}


def main() -> None:
    """Print seconds per step without and with augmentation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name, measured in (("grader", grader_steps(args.steps)), ("detector", detector_steps(max(3, args.steps // 4)))):
        print(f"{name}: step without augmentation {measured['off']:.3f} s, with {measured['on']:.3f} s "
              f"(x{measured['on'] / measured['off']:.2f}); augmentation alone {measured['augmentation']:.3f} s")


if __name__ == "__main__":
    main()
