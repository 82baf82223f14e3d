"""Image preparation shared by training and inference: canonical views, intensity scaling, grading crops."""
