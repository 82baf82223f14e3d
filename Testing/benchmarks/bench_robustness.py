"""Robustness benchmark: how much detection recall and grading agreement drop away from the training look.

Run: .venv/bin/python Testing/benchmarks/bench_robustness.py [--studies 6] [--seed 9100] [--model BUNDLE] [--out DIR]
     [--record FILE]

Held-out phantom studies (a seed no training recipe uses) are graded under several conditions:

* ``own style``: the phantom's classic renderer, unperturbed (the baseline);
* ``unseen style``: the phantom's ``unseen`` randomiser family, which no training recipe uses;
* ``noise x2`` / ``noise x4``: the same studies rendered at half / a quarter of the usual signal-to-noise ratio;
* ``bias``: a strong smooth multiplicative field (exp of a tilted quadratic, ≈ 0.45–2.2× across each image);
* ``resolution 0.5x``: every image down-sampled to half its matrix and interpolated back (blur, lost detail);
* ``contrast gamma 0.6`` / ``contrast gamma 1.6``: stored values remapped through a power curve;
* ``no axial (sagittal-only canal)``: the baseline studies without their axial series, so that the central canal
  is graded on the mid-sagittal T2 (``lss.pipeline.sagittal_canal``); only the canal's AC1 is reported (its
  reference boxes are axial, so box recall does not apply, and the recesses are not graded without axials).

The last four perturb the stored pixels of the baseline studies (same anatomy, same ground truth). For each
condition it prints recall at IoU 0.3 per region type and Gwet's AC1 (4 grades, dichotomous normal/mild vs
moderate/severe) per region type, with the drop from the baseline, and the reliability gate at work: the share of
graded keys presented as reliable and the dichotomous error among those. Everything is written to ``--out`` (a
temporary folder by default). ``--record FILE`` also writes the figures with the SHA-256 of the bundle's
``bundle.json`` (``make demo-model`` records ``Resources/Models/demo/generalisation.json`` this way, and
``Testing/test_demo_bundle.py`` holds the bundle to it). Numbers are phantom figures, not clinical evidence.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from scipy import ndimage

REGIONS = ("central_canal", "lateral_recess", "neural_foramen")
SAGITTAL_ONLY = "no axial (sagittal-only canal)"
PixelChange = Callable[[np.ndarray], np.ndarray]


def bias_field(image: np.ndarray) -> np.ndarray:
    """A strong smooth multiplicative field over one 2-D image (brighter towards one corner)."""
    rows, columns = image.shape
    y, x = np.mgrid[0:rows, 0:columns]
    u, v = x / max(columns - 1, 1) - 0.5, y / max(rows - 1, 1) - 0.5
    return image * np.exp(0.8 * u - 0.5 * v + 0.6 * (u * u + v * v))


def half_resolution(image: np.ndarray) -> np.ndarray:
    """Down-sample to half the matrix (area average) and interpolate back to the original size."""
    rows, columns = image.shape
    small = ndimage.zoom(image, 0.5, order=1, grid_mode=True, mode="nearest")
    return ndimage.zoom(small, (rows / small.shape[0], columns / small.shape[1]), order=3, grid_mode=True,
                        mode="nearest")


def gamma_curve(gamma: float) -> PixelChange:
    """Stored values mapped through ``(x / max) ** gamma * max``."""
    def change(image: np.ndarray) -> np.ndarray:
        top = float(image.max()) or 1.0
        return (np.clip(image, 0, None) / top) ** gamma * top
    return change


PIXEL_CONDITIONS: dict[str, PixelChange] = {
    "bias": bias_field,
    "resolution 0.5x": half_resolution,
    "contrast gamma 0.6": gamma_curve(0.6),
    "contrast gamma 1.6": gamma_curve(1.6),
}


def perturb_study(source: Path, target: Path, change: PixelChange) -> None:
    """Copy a phantom study folder and apply ``change`` to every image frame of every DICOM file (any file name)."""
    shutil.copytree(source, target)
    changed_files = 0
    for path in sorted(p for p in target.rglob("*") if p.is_file()):  # vendor-style names have no extension
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            continue
        if "PixelData" not in ds:
            continue
        changed_files += 1
        stored = ds.pixel_array.astype(np.float64)
        frames = stored.reshape(-1, *stored.shape[-2:])
        changed = np.stack([change(frame) for frame in frames]).reshape(stored.shape)
        top = np.iinfo(np.uint16).max if ds.PixelRepresentation == 0 else np.iinfo(np.int16).max
        low = 0 if ds.PixelRepresentation == 0 else np.iinfo(np.int16).min
        dtype = np.uint16 if ds.PixelRepresentation == 0 else np.int16
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelData = np.clip(np.rint(changed), low, top).astype(dtype).tobytes()
        ds.save_as(path, enforce_file_format=True)
    if not changed_files:
        raise RuntimeError(f"{source}: no DICOM image to perturb")


def drop_axial(source: Path, target: Path) -> None:
    """Copy a phantom study folder without its axial images (slice normal within 45 degrees of the body axis)."""
    shutil.copytree(source, target)
    dropped = 0
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except InvalidDicomError:
            continue
        orientation = ds.get("ImageOrientationPatient")
        if orientation is not None and abs(np.cross(orientation[:3], orientation[3:])[2]) > np.sqrt(0.5):
            path.unlink()
            dropped += 1
    if not dropped:
        raise RuntimeError(f"{source}: no axial image to leave out")


def generate(out: Path, studies: int, seed: int, **options) -> Path:
    """Phantom studies at ``out`` with the given PhantomOptions fields."""
    from lss.phantom.generate import PhantomOptions, generate_batch

    generate_batch(out, studies, seed, PhantomOptions(preview=False, **options))
    return out


def grade_all(phantoms: Path, out: Path, model: Path | None) -> float:
    """Grade every study folder under ``phantoms`` into ``out/<study>``; seconds per study."""
    from lss.entry.grade import GradeRequest, run_grading
    from lss.errors import InputDataError
    from lss.pipeline.result import GradingOptions

    folders = sorted(p for p in phantoms.iterdir() if p.is_dir())
    started = time.perf_counter()
    for folder in folders:
        try:
            run_grading(GradeRequest(folder, out / folder.name, model, GradingOptions(heatmaps="none")))
        except InputDataError as error:  # a study the engine refuses counts as all-missed, not as a crash
            print(f"  {folder.name}: refused: {error}")
    return (time.perf_counter() - started) / max(len(folders), 1)


def condition_metrics(phantoms: Path, graded: Path, regions: tuple[str, ...] = REGIONS,
                      box_recall: bool = True) -> dict[str, dict[str, float | None]]:
    """Recall@0.3 (None without ``box_recall``) and AC1 (4-grade, dichotomous) per region type of one graded
    condition."""
    from lss.evaluation.evaluate import evaluate

    metrics = evaluate(phantoms, graded)
    table: dict[str, dict[str, float | None]] = {}
    for region in regions:
        recall = metrics["detection"]["by_region"][region]["0.3"]["recall"] if box_recall else None
        grading = metrics["grading"][region]
        gate = metrics.get("reliability", {}).get(region, {})
        table[region] = {
            "recall@0.3": recall,
            "ac1_4": (grading["four_grade"] or {}).get("gwet_ac1"),
            "ac1_2": (grading["dichotomous"] or {}).get("gwet_ac1"),
            "reliable_share": gate.get("coverage"),
            "error_reliable": (gate.get("dichotomous_error") or {}).get("reliable"),
        }
    return table


def print_table(results: dict[str, dict[str, dict[str, float | None]]], baseline: str) -> None:
    """One line per condition × region with the drop from the baseline condition."""
    print(f"\n| condition | region | recall@0.3 | AC1 4-grade | AC1 dichotomous | drop vs {baseline} "
          "(recall / AC1-4 / AC1-2) | reliable share | dichotomous error of the reliable |")
    print("|---|---|---|---|---|---|---|---|")
    for condition, table in results.items():
        for region, row in table.items():
            base = results[baseline][region]
            drops = " / ".join(_drop(base[name], row[name]) for name in ("recall@0.3", "ac1_4", "ac1_2"))
            print(f"| {condition} | {region} | {_fmt(row['recall@0.3'])} | {_fmt(row['ac1_4'])} | "
                  f"{_fmt(row['ac1_2'])} | {drops} | {_fmt(row['reliable_share'])} | {_fmt(row['error_reliable'])} |")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _drop(base: float | None, value: float | None) -> str:
    return "–" if base is None or value is None else f"{base - value:+.3f}"


def main() -> None:
    """Generate, perturb, grade and evaluate every condition; print the table and write results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=6, help="held-out studies per condition")
    parser.add_argument("--seed", type=int, default=9100, help="phantom seed (no training recipe uses it)")
    parser.add_argument("--model", type=Path, help="model bundle (default: the bundled demo model)")
    parser.add_argument("--out", type=Path, help="working folder (default: a temporary folder)")
    parser.add_argument("--record", type=Path, help="also write the figures and the bundle's hash to this JSON file")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="lss-robustness-"))
    baseline = "own style"
    rendered = {
        baseline: {"style": "classic"},
        "unseen style": {"style": "unseen"},
        "noise x2": {"style": "classic", "snr_scale": 0.5},
        "noise x4": {"style": "classic", "snr_scale": 0.25},
    }
    phantoms: dict[str, Path] = {}
    for name, options in rendered.items():
        phantoms[name] = generate(out / _slug(name) / "phantoms", args.studies, args.seed, **options)
    for name, change in PIXEL_CONDITIONS.items():
        target = out / _slug(name) / "phantoms"
        target.mkdir(parents=True)
        for study in sorted(p for p in phantoms[baseline].iterdir() if p.is_dir()):
            perturb_study(study, target / study.name, change)
        phantoms[name] = target
    target = out / _slug(SAGITTAL_ONLY) / "phantoms"
    target.mkdir(parents=True)
    for study in sorted(p for p in phantoms[baseline].iterdir() if p.is_dir()):
        drop_axial(study, target / study.name)
    phantoms[SAGITTAL_ONLY] = target
    results, seconds = {}, {}
    for name, folder in phantoms.items():
        print(f"grading: {name}", flush=True)
        seconds[name] = grade_all(folder, out / _slug(name) / "graded", args.model)
        sagittal_only = name == SAGITTAL_ONLY
        results[name] = condition_metrics(folder, out / _slug(name) / "graded",
                                          ("central_canal",) if sagittal_only else REGIONS, not sagittal_only)
    print_table(results, baseline)
    print("\nseconds per study: " + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items()))
    record = {"studies": args.studies, "seed": args.seed, "baseline": baseline, "results": results,
              "seconds_per_study": seconds, "bundle_json_sha256": _manifest_hash(args.model)}
    (out / "results.json").write_text(json.dumps(record, indent=2))
    print(f"results: {out / 'results.json'}")
    if args.record:
        from lss.atomic import write_text_atomically

        write_text_atomically(args.record, json.dumps(record, indent=2) + "\n")
        print(f"recorded: {args.record}")


def _manifest_hash(model: Path | None) -> str:
    """SHA-256 of the graded bundle's bundle.json (the demo bundle when ``model`` is None)."""
    from lss.bundle.demo import DEMO_BUNDLE
    from lss.bundle.store import sha256

    return sha256((model or DEMO_BUNDLE) / "bundle.json")


def _slug(name: str) -> str:
    return "".join(c for c in name.replace(" ", "_") if c.isalnum() or c in "_-")


if __name__ == "__main__":
    main()
