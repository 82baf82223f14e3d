"""The MRML adaptor: study volumes, finding ROIs, the results table, heatmaps and anatomy in a Slicer scene.

Plain Python over an MRML scene passed in as a parameter: it runs inside 3D Slicer and under the
``slicer-core`` wheel alike, and never imports Qt. LPS → RAS happens here and nowhere else.
"""
