"""Splits by study, never by image, stratified by each study's worst annotated grade.

A study's every slice and box goes to one side of a split only, so no network is validated or tested on
images of a patient it was trained on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def stratified_split(study_ids: Sequence[str], strata: Sequence[int], fraction: float,
                     seed: int) -> tuple[list[str], list[str]]:
    """(kept, split off): about ``fraction`` of each stratum's studies are split off (at least one when the
    stratum has two or more studies), chosen at random with ``seed``."""
    if len(study_ids) != len(strata):
        raise ValueError("one stratum per study is needed")
    if len(set(study_ids)) != len(study_ids):
        raise ValueError("study identifiers must be unique")
    if not 0 < fraction < 1:
        raise ValueError(f"split fraction must lie in (0, 1), got {fraction!r}")
    rng = np.random.default_rng(seed)
    by_stratum: dict[int, list[str]] = defaultdict(list)
    for study, stratum in zip(study_ids, strata, strict=True):
        by_stratum[stratum].append(study)
    kept, split_off = [], []
    for stratum in sorted(by_stratum):
        members = list(by_stratum[stratum])
        rng.shuffle(members)
        n_off = int(round(fraction * len(members)))
        if len(members) >= 2:
            n_off = min(max(n_off, 1), len(members) - 1)
        split_off += members[:n_off]
        kept += members[n_off:]
    return sorted(kept), sorted(split_off)


def ensemble_splits(study_ids: Sequence[str], strata: Sequence[int], n_splits: int, validation_fraction: float,
                    seed: int) -> list[tuple[list[str], list[str]]]:
    """``n_splits`` independent random (train, validation) splits of the same studies, as in the reference's
    3 splits × 3 runs ensemble."""
    return [stratified_split(study_ids, strata, validation_fraction, seed + 1000 * k) for k in range(n_splits)]
