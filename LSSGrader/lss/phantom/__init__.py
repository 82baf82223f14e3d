"""Synthetic lumbar spine MRI phantom: 3D anatomy with pathology, rendered as DICOM with exact ground truth."""
