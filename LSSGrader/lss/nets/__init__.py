"""Network definitions: the region detectors, the grading CNN and the anatomy segmenter (torch only)."""
