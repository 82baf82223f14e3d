"""Model bundles: a folder of safetensors weights and a bundle.json describing and hashing them (DESIGN.md §5b).

Import from ``lss.bundle.store`` (loading, saving, verifying; needs torch) or ``lss.bundle.demo`` (where the
bundled demo model lies; needs nothing): this package itself imports neither, so naming the demo model's folder
does not start torch.
"""
