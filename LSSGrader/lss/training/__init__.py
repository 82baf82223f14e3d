"""Training: annotated-study importers, datasets, splits, trainers, the ensemble and model bundles' contents."""
