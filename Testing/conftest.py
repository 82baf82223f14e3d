"""Shared pytest fixtures for the LSS test suite."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pydicom
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Phantom studies are slow (seconds each): every study the phantom tests need is generated once per session.
PHANTOM_SEED = 7
PHANTOM_WORKERS = 2
# (study index, scanner profile, straight axial stack): one study per vendor file layout and axial series style.
PHANTOM_STUDY_SPECS = ((0, "1.5T-siemens", True), (1, "3T-ge", False), (2, "3T-philips", False))
PREVALENCE_SEED = 2026
PREVALENCE_STUDIES = 200


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Root of the repository checkout."""
    return REPO_ROOT


def phantom_pool() -> ProcessPoolExecutor:
    """Worker processes for phantom generation (spawned: the test process may hold threads)."""
    return ProcessPoolExecutor(PHANTOM_WORKERS, mp_context=multiprocessing.get_context("spawn"))


@dataclass
class PhantomStudy:
    """One generated phantom study on disk, with its headers read once."""

    index: int
    seed: int
    profile: str
    axial_stack: bool
    root: Path  # the batch folder
    summary: dict
    _datasets: dict[Path, pydicom.Dataset] | None = field(default=None, repr=False)
    _truth: object = field(default=None, repr=False)
    _anatomy: object = field(default=None, repr=False)

    @property
    def folder(self) -> Path:
        """PHANTOM_NNNN folder of the study."""
        return self.root / self.summary["folder"]

    def options(self):
        """The PhantomOptions it was generated with."""
        from lss.phantom.generate import PhantomOptions

        return PhantomOptions(profile=self.profile, axial_stack=self.axial_stack)

    @property
    def dicom_files(self) -> list[Path]:
        """Every file under dicom/ (DICOM files have no extension and may be nested)."""
        return sorted(p for p in (self.folder / "dicom").rglob("*") if p.is_file())

    @property
    def datasets(self) -> dict[Path, pydicom.Dataset]:
        """Every DICOM file, fully read (pixel data included), keyed by path."""
        if self._datasets is None:
            self._datasets = {path: pydicom.dcmread(path) for path in self.dicom_files}
        return self._datasets

    @property
    def truth(self):
        """ground_truth.json as StudyFindings."""
        if self._truth is None:
            from lss.model.findings_io import read_findings

            self._truth = read_findings(self.folder / "ground_truth.json")
        return self._truth

    @property
    def anatomy(self):
        """The subject's anatomy, rebuilt from (seed, index) exactly as generate_study builds it."""
        if self._anatomy is None:
            from lss.phantom.anatomy import build_anatomy
            from lss.phantom.generate import study_subject

            self._anatomy = build_anatomy(study_subject(self.seed, self.index)[1])
        return self._anatomy

    def by_sop(self) -> dict[str, pydicom.Dataset]:
        """Datasets keyed by SOPInstanceUID."""
        return {str(ds.SOPInstanceUID): ds for ds in self.datasets.values()}


def stacks_of(datasets) -> dict[tuple[str, tuple[float, ...]], list[pydicom.Dataset]]:
    """Datasets grouped into stacks: same SeriesInstanceUID and ImageOrientationPatient (to 1e-5),
    each stack sorted by position along its normal."""
    groups: dict[tuple[str, tuple[float, ...]], list[pydicom.Dataset]] = {}
    for ds in datasets:
        orientation = tuple(round(float(v), 5) for v in ds.ImageOrientationPatient)
        groups.setdefault((str(ds.SeriesInstanceUID), orientation), []).append(ds)
    for key, members in groups.items():
        normal = np.cross(np.array(key[1][:3]), np.array(key[1][3:]))
        members.sort(key=lambda ds: float(np.asarray(ds.ImagePositionPatient, dtype=float) @ normal))
    return groups


def _generate(root: Path, spec: tuple[int, str, bool]) -> dict:
    from lss.phantom.generate import PhantomOptions, generate_study

    index, profile, axial_stack = spec
    return generate_study(root, PHANTOM_SEED, index, PhantomOptions(profile=profile, axial_stack=axial_stack))


@pytest.fixture(scope="session")
def phantom_studies(tmp_path_factory) -> list[PhantomStudy]:
    """Three full studies (seed PHANTOM_SEED, indices 0–2): Siemens with a straight axial stack, GE, Philips."""
    root = tmp_path_factory.mktemp("phantom_studies")
    with phantom_pool() as pool:
        summaries = list(pool.map(partial(_generate, root), PHANTOM_STUDY_SPECS))
    return [PhantomStudy(index, PHANTOM_SEED, profile, axial_stack, root, summary)
            for (index, profile, axial_stack), summary in zip(PHANTOM_STUDY_SPECS, summaries, strict=True)]


@pytest.fixture(scope="session")
def prevalence_grades() -> list[dict]:
    """Ground-truth grades (and measures) of studies 0 … PREVALENCE_STUDIES-1 of batch PREVALENCE_SEED."""
    from lss.phantom.generate import study_grades

    with phantom_pool() as pool:
        return list(pool.map(partial(study_grades, PREVALENCE_SEED), range(PREVALENCE_STUDIES), chunksize=4))


# --- DICOM geometry helpers shared by the phantom tests -------------------------------------------------------


def instance_geometry(ds: pydicom.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """(ImagePositionPatient, row direction, column direction, (row spacing, column spacing)) of one image."""
    position = np.asarray(ds.ImagePositionPatient, dtype=float)
    orientation = np.asarray(ds.ImageOrientationPatient, dtype=float)
    spacing = (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))
    return position, orientation[:3], orientation[3:], spacing


def pixel_edge_to_lps(ds: pydicom.Dataset, col: float, row: float) -> np.ndarray:
    """LPS of a pixel-edge coordinate (0 = outer edge of the first pixel) on one image, from its header alone."""
    position, row_direction, column_direction, (row_spacing, col_spacing) = instance_geometry(ds)
    return position + (col - 0.5) * col_spacing * row_direction + (row - 0.5) * row_spacing * column_direction


def label_map_slice_positions(image) -> np.ndarray:
    """LPS of pixel (0, 0) of every slice of a SimpleITK image, in index order."""
    origin = np.asarray(image.GetOrigin())
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    k = np.arange(image.GetSize()[2])[:, None]
    return origin[None, :] + k * image.GetSpacing()[2] * direction[:, 2][None, :]


# --- graded subjects with hand-set pathology (run in worker processes) ----------------------------------------


def healthy_subject(seed: int):
    """A subject drawn without stenosis and with every pathology removed (disc heights stay as drawn)."""
    from lss.phantom.subject import NO_STENOSIS, clear_pathology, sample_subject

    return clear_pathology(sample_subject(np.random.default_rng(seed), seed, NO_STENOSIS))


def grade_modified_subject(case: tuple[int, tuple[tuple[str, str, str | None, float], ...]]) -> dict:
    """Grades of healthy_subject(seed) after setting pathology fields: case = (seed, ((level, field, side, mm), …))
    with side 'left'/'right' for sided fields and None otherwise."""
    from lss.model.vocabulary import Level, Side
    from lss.phantom.anatomy import build_anatomy
    from lss.phantom.grading import grade_all

    seed, changes = case
    subject = healthy_subject(seed)
    for level, name, side, value in changes:
        pathology = subject.pathology[Level(level)]
        if side is None:
            setattr(pathology, name, value)
        else:
            getattr(pathology, name)[Side(side)] = value
    return grade_all(build_anatomy(subject))


def plain_subject_seed(first: int = 0) -> int:
    """The first seed ≥ first whose healthy subject has a normal-sized canal and no vertebral slip."""
    for seed in range(first, first + 200):
        subject = healthy_subject(seed)
        if subject.narrow_canal == 1.0 and all(v.v_shift == 0.0 for v in subject.vertebrae):
            return seed
    raise AssertionError("no plain subject among 200 seeds")


TRAINING_SEED = 4242
TRAINING_STUDIES = 4


@pytest.fixture(scope="session")
def training_studies_root(tmp_path_factory) -> Path:
    """A folder of TRAINING_STUDIES enriched phantom studies (seed TRAINING_SEED) for the training tests."""
    from lss.phantom.generate import PhantomOptions, generate_batch

    root = tmp_path_factory.mktemp("training_studies")
    generate_batch(root, TRAINING_STUDIES, TRAINING_SEED, PhantomOptions(enriched=True), workers=PHANTOM_WORKERS)
    return root


@contextmanager
def one_torch_thread():
    """Within the block torch computes on one thread: floating-point sums, and so the outputs' bytes, depend on the
    thread count (the golden hashes of Testing/golden were made on one thread)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class DemoRead:
    """The demo-style phantom study (seed 11) and what the grade entry (behind `lss grade` and LSSGrader) made of
    it with the bundled model: the outcome and the files in ``out``."""

    study: Path
    out: Path
    outcome: object  # lss.entry.grade.GradeOutcome


@pytest.fixture(scope="session")
def demo_read(tmp_path_factory) -> DemoRead:
    """One grading run (bundled demo model, default options, study id 42), shared by the tests."""
    from lss.entry.grade import GradeRequest, run_grading
    from lss.phantom.generate import PhantomOptions, generate_study

    root = tmp_path_factory.mktemp("demo_read")
    generate_study(root, 11, 0, PhantomOptions())
    out = root / "read"
    with one_torch_thread():
        outcome = run_grading(GradeRequest(root / "PHANTOM_0000", out, study_id="42"))
    return DemoRead(root / "PHANTOM_0000", out, outcome)
