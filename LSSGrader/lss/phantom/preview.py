"""A PNG contact sheet of one phantom study, for judging realism and ground truth at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lss.atomic import atomic_path
from lss.model.findings import Box, StudyFindings
from lss.model.vocabulary import Grade, Region, Side
from lss.phantom.acquisition import PlannedSeries
from lss.phantom.dicom_writer import RenderedSeries


def write_preview(rendered: dict[int, RenderedSeries], plan: list[PlannedSeries], truth: StudyFindings,
                  sop_uids: dict[int, list[list[str]]], path: Path) -> None:
    """Mid-sagittal T1 and T2, a parasagittal T1 through each foramen and one axial T2 per level, with
    ground-truth boxes coloured by grade (DESIGN.md §4). ``sop_uids[series][stack][slice]`` names each slice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    by_role = {s.role: rendered[s.series_number] for s in plan if s.role in ("sag_t1", "sag_t2")}
    sag_t1, sag_t2 = by_role["sag_t1"], by_role["sag_t2"]
    sag_sops = sop_uids[plan[0].series_number][0]
    n_sag = sag_t1.stacks[0].pixels.shape[0]
    panels = [("Sagittal T1 (mid)", sag_t1.stacks[0].pixels[n_sag // 2], sag_sops[n_sag // 2]),
              ("Sagittal T2 (mid)", sag_t2.stacks[0].pixels[n_sag // 2], None)]
    for side in (Side.RIGHT, Side.LEFT):
        k = _best_foramen_slice(truth, side, sag_sops)
        panels.append((f"Sagittal T1, patient-{side.value} foramina", sag_t1.stacks[0].pixels[k], sag_sops[k]))
    for series in plan:
        if series.role != "ax_t2":
            continue
        for i, stack in enumerate(rendered[series.series_number].stacks):
            k = stack.pixels.shape[0] // 2
            panels.append((f"Axial T2 {stack.level.value if stack.level else ''}", stack.pixels[k],
                           sop_uids[series.series_number][i][k]))
    columns = 5
    rows = int(np.ceil(len(panels) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 4.3 * rows), facecolor="black")
    for axis in np.ravel(axes):
        axis.axis("off")
    for axis, (title, image, sop) in zip(np.ravel(axes), panels, strict=False):
        low, high = np.percentile(image, [1, 99.5])
        axis.imshow(image, cmap="gray", vmin=low, vmax=high)
        axis.set_title(title, color="white", fontsize=10)
        for finding in truth.findings:
            for box in finding.boxes:
                if sop is not None and box.sop_instance_uid == sop:
                    _draw(axis, box, finding.grade, Rectangle)
    figure.suptitle(f"{truth.patient_id} — synthetic phantom (boxes: ground truth; white normal, blue mild, "
                    "orange moderate, red severe)", color="white")
    figure.tight_layout()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=72, facecolor="black")
    finally:
        plt.close(figure)


def _best_foramen_slice(truth: StudyFindings, side: Side, sops: list[str]) -> int:
    """The sagittal slice showing the most foramina of one side (largest total box area)."""
    area = np.zeros(len(sops))
    index = {sop: k for k, sop in enumerate(sops)}
    for finding in truth.findings_for(region=Region.NEURAL_FORAMEN, side=side):
        for box in finding.boxes:
            if box.sop_instance_uid in index:
                area[index[box.sop_instance_uid]] += box.area
    return int(np.argmax(area)) if area.any() else len(sops) // 2


def _draw(axis, box: Box, grade: Grade, rectangle) -> None:
    axis.add_patch(rectangle((box.col_min - 0.5, box.row_min - 0.5), box.width, box.height, fill=False,
                             edgecolor=grade.colour, linewidth=1.2))


__all__ = ["write_preview"]
