"""Figures for the evaluation report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from lss.atomic import atomic_path  # noqa: E402


def plot_confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: Path) -> None:
    """A confusion matrix heatmap with counts (rows = reference, columns = prediction)."""
    figure, axes = plt.subplots(figsize=(4.6, 4.0), dpi=120)
    image = axes.imshow(matrix, cmap="Blues")
    peak = max((max(row) for row in matrix), default=0)
    for row, values in enumerate(matrix):
        for col, count in enumerate(values):
            colour = "white" if peak and count > peak / 2 else "black"
            axes.text(col, row, str(count), ha="center", va="center", color=colour)
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("prediction")
    axes.set_ylabel("reference")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046)
    _save(figure, path)


def plot_by_level(by_level: dict[str, dict[str, Any]], recall: dict[str, float | None], threshold: str,
                  path: Path) -> None:
    """Grouped bars per level: 4-grade AC1, dichotomous AC1 and detection recall at ``threshold``."""
    levels = list(by_level)
    series = {
        "AC1 (4 grades)": [_value(by_level[level]["four_grade"], "gwet_ac1") for level in levels],
        "AC1 (dichotomous)": [_value(by_level[level]["dichotomous"], "gwet_ac1") for level in levels],
        f"recall @ IoU {threshold}": [recall.get(level) or 0.0 for level in levels],
    }
    figure, axes = plt.subplots(figsize=(7.0, 3.6), dpi=120)
    width = 0.8 / len(series)
    for offset, (name, values) in enumerate(series.items()):
        axes.bar([index + (offset - 1) * width for index in range(len(levels))], values, width, label=name)
    axes.set_xticks(range(len(levels)), levels)
    axes.set_ylim(min(0.0, *(v for values in series.values() for v in values)), 1.05)
    axes.axhline(0.0, color="black", linewidth=0.6)
    axes.set_ylabel("value")
    axes.set_title("Agreement and detection per level")
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    _save(figure, path)


def _value(stats: dict[str, Any] | None, name: str) -> float:
    return float(stats[name]) if stats and stats.get(name) is not None else 0.0


def _save(figure: plt.Figure, path: Path) -> None:
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
