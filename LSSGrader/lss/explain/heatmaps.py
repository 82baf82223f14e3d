"""Attribution maps put back on the slices they came from: heatmap volumes with the source stack's geometry.

A crop covers its box enlarged by the grader's ``box_enlargement`` in the canonical view, resampled to S × S
(``lss.preprocess.crops.grading_crops``). Its attribution map is sampled back at each view pixel centre
inside that field (bilinear), un-mirrored first for mirrored crops. Only positive attributions — evidence for
the predicted grade — are kept, scaled so each finding's strongest pixel is 1; where fields overlap the
larger value wins. The volume is then turned back from the canonical view to the stored pixel grid.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lss.preprocess.crops import enlarged_box

ViewBox = tuple[float, float, float, float]


def paste_attribution(heat_view: np.ndarray, attribution: np.ndarray, box_view: ViewBox, enlargement: float,
                      mirrored: bool) -> None:
    """Add one crop's positive attributions (S, S) into a view slice (H, W) in place, by maximum."""
    positive = np.clip(np.asarray(attribution, dtype=np.float32), 0.0, None)
    if mirrored:
        positive = positive[:, ::-1]
    peak = float(positive.max())
    if peak <= 0:
        return
    positive /= peak
    size_rows, size_cols = positive.shape
    x0, y0, x1, y1 = enlarged_box(box_view, enlargement)
    if not (np.isfinite([x0, y0, x1, y1]).all() and x1 - x0 > 1e-3 and y1 - y0 > 1e-3):
        return  # a degenerate box covers no pixel (and would divide by zero below)
    rows, cols = heat_view.shape
    c_lo, c_hi = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), cols)
    r_lo, r_hi = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), rows)
    if c_lo >= c_hi or r_lo >= r_hi:
        return
    crop_cols = ((np.arange(c_lo, c_hi) + 0.5) - x0) / (x1 - x0) * size_cols - 0.5
    crop_rows = ((np.arange(r_lo, r_hi) + 0.5) - y0) / (y1 - y0) * size_rows - 0.5
    grid_rows, grid_cols = np.meshgrid(crop_rows, crop_cols, indexing="ij")
    values = ndimage.map_coordinates(positive, [grid_rows, grid_cols], order=1, mode="constant", cval=0.0)
    inside = (grid_rows >= -0.5) & (grid_rows <= size_rows - 0.5) & (grid_cols >= -0.5) & (grid_cols <= size_cols - 0.5)
    region = heat_view[r_lo:r_hi, c_lo:c_hi]
    np.maximum(region, np.where(inside, values, 0.0), out=region)
