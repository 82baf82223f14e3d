"""Compressed transfer syntaxes decode to the same pixels as the uncompressed files (pydicom + pylibjpeg)."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless, RLELossless

from lss.dicom.reader import read_study


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless], ids=["RLE", "JPEG2000"])
def test_compressed_series_load_like_uncompressed(phantom_studies, tmp_path, syntax):
    philips = next(p for p in phantom_studies if p.profile == "3T-philips")
    uid = next(s.series_uid for s in philips.truth.series if s.role.startswith("sag"))
    files = sorted(p for p, ds in philips.datasets.items() if str(ds.SeriesInstanceUID) == uid)[:5]
    (tmp_path / "plain").mkdir()
    (tmp_path / "packed").mkdir()
    for path in files:
        shutil.copyfile(path, tmp_path / "plain" / path.name)
        ds = pydicom.dcmread(path)
        ds.compress(syntax)
        ds.save_as(tmp_path / "packed" / path.name)
    plain = read_study(tmp_path / "plain").series[0]
    packed = read_study(tmp_path / "packed").series[0]
    assert packed.transfer_syntax == syntax
    np.testing.assert_array_equal(packed.stacks[0].load_pixels(), plain.stacks[0].load_pixels())
