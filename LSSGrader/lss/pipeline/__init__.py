"""Detect & Grade a study: detection, level labelling, grading, anatomy measures and explanations."""
