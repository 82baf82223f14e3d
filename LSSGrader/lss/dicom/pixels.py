"""Load a stack's pixel data (compressed or not) as float32 with rescale slope/intercept applied."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from lss.dicom.errors import DicomReadError
from lss.model.study import Stack

DECODER_HINT = ("neither pydicom's decoders (pylibjpeg-openjpeg, pylibjpeg-rle) nor GDCM (SimpleITK) could decode it; "
                "pylibjpeg-libjpeg (GPL, not a dependency of LSS) adds JPEG and JPEG-LS to pydicom")


def load_stack_pixels(stack: Stack) -> np.ndarray:
    """Pixel data (slices, rows, columns) as float32, each slice scaled by its (slope, intercept).

    Each file is decoded once, even when several frames of a multi-frame file belong to the stack.
    Raises DicomReadError naming the file when it cannot be read or decoded or has the wrong size.
    """
    geometry = stack.geometry
    volume = np.empty(geometry.shape, dtype=np.float32)
    decoded: dict[Path, np.ndarray] = {}
    for index, (ref, (slope, intercept)) in enumerate(zip(stack.slices, stack.rescale, strict=True)):
        if ref.path not in decoded:
            decoded = {ref.path: decode_file(ref.path)}  # keep one file in memory at a time
        frames = decoded[ref.path]
        if frames.ndim == 3 and (ref.frame or 0) >= frames.shape[0]:
            raise DicomReadError(f"{ref.path}: frame {(ref.frame or 0) + 1} missing ({frames.shape[0]} frames)")
        frame = frames[ref.frame or 0] if frames.ndim == 3 else frames
        if frame.shape != (geometry.rows, geometry.columns):
            raise DicomReadError(f"{ref.path}: pixel matrix {frame.shape} differs from the stack's "
                                 f"{(geometry.rows, geometry.columns)}")
        volume[index] = frame.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    return volume


def decode_file(path: Path) -> np.ndarray:
    """Stored pixel values of one file: (rows, cols) or (frames, rows, cols). Colour images are refused."""
    try:
        ds = pydicom.dcmread(path, force=True)  # the scan already accepted it (possibly without a preamble)
    except Exception as error:  # noqa: BLE001 - any read failure becomes a DicomReadError naming the file
        raise DicomReadError(f"{path}: cannot read file: {error}") from error
    syntax = transfer_syntax(ds)
    if "PixelData" not in ds:
        raise DicomReadError(f"{path}: no pixel data")
    shortfall = None if syntax.is_compressed else pixel_data_shortfall(ds, len(ds.PixelData))
    if shortfall:
        raise DicomReadError(f"{path}: {shortfall}")
    try:
        pixels = ds.pixel_array
    except (NotImplementedError, RuntimeError) as error:
        if not syntax.is_compressed:
            raise DicomReadError(f"{path}: cannot decode pixel data ({syntax.name}): {error}") from error
        pixels = _decode_with_gdcm(path, ds)  # JPEG baseline/lossless and JPEG-LS without GPL plugins
        if pixels is None:
            raise DicomReadError(f"{path}: unsupported compression {syntax.name}: {DECODER_HINT} "
                                 f"({error})") from error
    except Exception as error:  # noqa: BLE001 - truncated or malformed pixel data
        raise DicomReadError(f"{path}: cannot decode pixel data ({syntax.name}): {error}") from error
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise DicomReadError(f"{path}: colour images ({ds.get('PhotometricInterpretation')}) are not supported")
    return np.asarray(pixels)


def pixel_data_shortfall(ds: pydicom.Dataset, length: int) -> str | None:
    """Why ``length`` bytes of uncompressed pixel data are too few for what Rows × Columns × frames × samples ×
    bytes per value say (a header that disagrees with its pixels), or None. More bytes than that are accepted,
    as pydicom reads them: writers pad pixel data, and the extra bytes are not read."""
    bits = int(ds.get("BitsAllocated", 0) or 0)
    if bits < 8:  # 1-bit (packed) data: not an MR image, left to the decoder
        return None
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    expected = rows * columns * frames * samples * (bits // 8)
    if length >= expected:
        return None
    return (f"Rows × Columns ({rows} × {columns}, {frames} frame(s), {bits} bits) need {expected} bytes of pixel "
            f"data, the file holds {length}: header and pixels disagree")


def _decode_with_gdcm(path: Path, ds: pydicom.Dataset) -> np.ndarray | None:
    """Stored values decoded by GDCM through SimpleITK (which rescales: undone here), or None if it fails.

    Used for the JPEG family that pydicom decodes only with the GPL pylibjpeg-libjpeg plugin.
    """
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetImageIO("GDCMImageIO")
    reader.SetFileName(str(path))
    try:
        array = sitk.GetArrayFromImage(reader.Execute()).astype(np.float64)
    except RuntimeError:
        return None
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    stored = np.rint((array - intercept) / slope)
    if array.ndim == 3 and array.shape[0] == 1 and int(ds.get("NumberOfFrames", 1) or 1) == 1:
        stored = stored[0]
    return stored


def transfer_syntax(ds: pydicom.Dataset) -> UID:
    """The file's transfer syntax; for files without file meta, the encoding pydicom detected (set on ``ds``)."""
    if "TransferSyntaxUID" not in ds.file_meta:
        implicit, little = ds.original_encoding
        ds.file_meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit else
                                          ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    return UID(str(ds.file_meta.TransferSyntaxUID))
