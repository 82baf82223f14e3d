"""LSS engine: lumbar spinal stenosis detection and grading, free of Qt and of the Slicer application."""

__version__ = "0.1.0"
