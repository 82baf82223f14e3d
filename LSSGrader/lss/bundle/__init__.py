"""Model bundles: a folder of safetensors weights and a bundle.json describing and hashing them (DESIGN.md §5b)."""

from lss.bundle.store import BundleError, load_bundle, save_bundle, verify_bundle

__all__ = ["BundleError", "load_bundle", "save_bundle", "verify_bundle"]
