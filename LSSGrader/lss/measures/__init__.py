"""Quantitative measures on segmentation masks (numpy and scipy only, no torch): the second stage of the
three-stage design, between the anatomy segmenter and the grader."""

from lss.measures.canal import ap_diameter_mm, dural_sac_area_mm2, largest_component

__all__ = ["ap_diameter_mm", "dural_sac_area_mm2", "largest_component"]
