"""Detector backbones side by side on CPU: parameters, training and inference time per image.

Run: .venv/bin/python Testing/benchmarks/bench_detectors.py [--size 320] [--threads 2]
Prints one line per backbone; the choice of the CPU default (``regnet``) rests on these numbers.
"""

from __future__ import annotations

import argparse
import time

import torch

from lss.nets.detector import BACKBONES, DetectorConfig, build_detector, count_parameters


def measure(backbone: str, size: int, batch: int = 4, repeats: int = 3) -> dict:
    """Seconds per image for a training step and for inference, and the parameter count."""
    torch.manual_seed(0)
    names = ["central_canal", "lateral_recess_left", "lateral_recess_right"]
    config = DetectorConfig.paper(names) if backbone == "paper" else DetectorConfig(names, backbone=backbone,
                                                                                     min_size=size, max_size=size)
    model = build_detector(config)
    image_size = config.min_size
    images = [torch.rand(1, image_size, image_size) for _ in range(batch)]
    targets = [{"boxes": torch.tensor([[100.0, 100.0, 130.0, 125.0], [80.0, 110.0, 95.0, 125.0]]),
                "labels": torch.tensor([1, 2])} for _ in range(batch)]
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        loss = sum(model(images, targets).values())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - start)
    train = min(times[1:]) / batch
    model.eval()
    with torch.no_grad():
        model(images)
        start = time.perf_counter()
        model(images)
        infer = (time.perf_counter() - start) / batch
    return {"backbone": backbone, "parameters": count_parameters(model), "image_px": image_size,
            "train_s_per_image": round(train, 4), "inference_s_per_image": round(infer, 4)}


def main() -> None:
    """Measure every backbone and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-paper", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for backbone in BACKBONES:
        if backbone == "paper" and args.skip_paper:
            continue
        print(measure(backbone, args.size), flush=True)


if __name__ == "__main__":
    main()
