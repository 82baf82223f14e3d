"""Evaluation the way the reference study did it: detection recall at IoU thresholds, Gwet's AC1 and Cohen's
kappa, sensitivity/specificity with exact intervals, the RSNA 2024 metric, reader comparison (no torch)."""
