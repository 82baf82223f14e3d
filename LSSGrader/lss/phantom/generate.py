"""Generate complete phantom studies: anatomy → ground-truth grades → protocol → images → DICOM,
ground-truth JSON, label maps and an optional preview, streamed to disk one study at a time."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

import lss
from lss.model.findings import StudyFindings
from lss.model.findings_io import write_findings
from lss.phantom.acquisition import PlannedSeries, plan_protocol
from lss.phantom.anatomy import Anatomy, build_anatomy
from lss.phantom.appearance import CLASSIC, appearance_rng, resolve_style
from lss.phantom.appearance_acquisition import randomise_plan, vendor_scaled_profile
from lss.phantom.dicom_writer import (
    RenderedSeries,
    RenderedStack,
    StudyIdentity,
    make_study_identity,
    write_series,
)
from lss.phantom.grading import grade_all
from lss.phantom.ground_truth import build_ground_truth, label_legend, write_json, write_label_map
from lss.phantom.morphometry import widen_alignment
from lss.phantom.profiles import Profile, choose_profile
from lss.phantom.render import Contrast, SampledStack, render_series, sample_stack
from lss.phantom.smooth_field import SmoothDeformation
from lss.phantom.subject import ENRICHED_PREVALENCE, TARGET_INTENTS, Subject, sample_subject

PHANTOM_VERSION = "5"  # bump whenever the same seed would produce different studies


@dataclass(frozen=True)
class PhantomOptions:
    """What to generate for each study."""

    profile: str = "mixed"
    enriched: bool = False  # over-sample moderate and severe grades (training sets)
    axial_stack: bool = False  # also a straight contiguous axial T2 stack
    preview: bool = False
    label_maps: bool = True
    snr_scale: float = 1.0  # multiplies each profile's typical signal-to-noise ratio
    style: str = CLASSIC  # classic | randomised | unseen (held-out tests only) | mixed; see lss.phantom.appearance


def study_folder_name(index: int) -> str:
    """Folder of study ``index`` inside a batch."""
    return f"PHANTOM_{index:04d}"


def study_subject(seed: int, index: int, enriched: bool = False) -> tuple[np.random.Generator, Subject]:
    """The random stream and subject of study ``index`` of batch ``seed`` (the first step of generate_study)."""
    rng = np.random.default_rng([seed, index])
    subject = sample_subject(rng, int(rng.integers(2 ** 31)), ENRICHED_PREVALENCE if enriched else TARGET_INTENTS)
    return rng, subject


def styled_subject(seed: int, index: int, subject: Subject, style: str
                   ) -> tuple[str, np.random.Generator, Subject]:
    """(resolved style, appearance stream, subject) of study ``index``: the non-classic styles widen the
    subject's sagittal alignment from the appearance stream; classic returns ``subject`` untouched."""
    look_rng = appearance_rng(seed, index)
    resolved = resolve_style(style, look_rng)
    return resolved, look_rng, subject if resolved == CLASSIC else widen_alignment(subject, look_rng)


def study_grades(seed: int, index: int, enriched: bool = False, style: str = CLASSIC) -> dict:
    """Ground-truth grades of one study without rendering images (the same grades generate_study writes)."""
    _, subject = study_subject(seed, index, enriched)
    _, _, subject = styled_subject(seed, index, subject, style)
    return grade_all(build_anatomy(subject))


@dataclass
class RenderedStudy:
    """One study in memory: subject, anatomy, measured grades, scanner, protocol, images and sampled labels."""

    seed: int
    index: int
    subject: Subject
    anatomy: Anatomy
    grades: dict
    profile: Profile
    identity: StudyIdentity
    plan: list[PlannedSeries]
    images: dict[int, list[np.ndarray]]  # series number → pixel data per stack
    sampled: dict[int, list[SampledStack]]  # series number → labels and zones per stack
    style: str = CLASSIC  # the style this study was rendered in (never 'mixed')
    deformation: SmoothDeformation | None = None  # sampling-coordinate deformation of the randomised styles


def render_study(seed: int, index: int, options: PhantomOptions = PhantomOptions()) -> RenderedStudy:
    """Everything of study ``index`` of batch ``seed`` except the files.

    The classic style uses only the stream ``[seed, index]``; the other styles draw their appearance,
    acquisition ranges and alignment spread from :func:`lss.phantom.appearance.appearance_rng`, so a classic
    study (alone or within ``mixed``) is byte-identical to today's.
    """
    rng, subject = study_subject(seed, index, options.enriched)
    style, look_rng, subject = styled_subject(seed, index, subject, options.style)
    anatomy = build_anatomy(subject)
    grades = grade_all(anatomy)
    profile = choose_profile(rng, options.profile)
    variant = (f"v{PHANTOM_VERSION} profile={options.profile} enriched={options.enriched} "
               f"stack={options.axial_stack} snr={options.snr_scale}" + ("" if style == CLASSIC else f" style={style}"))
    identity = make_study_identity(index, seed, rng, variant)
    plan = plan_protocol(anatomy, profile, rng, options.axial_stack)
    if style != CLASSIC:
        from lss.phantom.appearance_render import render_appearance

        plan = randomise_plan(plan, look_rng)
        profile = vendor_scaled_profile(profile, look_rng)
        look = render_appearance(anatomy, plan, style, look_rng, options.snr_scale)
        return RenderedStudy(seed, index, subject, anatomy, grades, profile, identity, plan, look.images,
                             look.sampled, style, look.deformation)
    images = render_series(anatomy, plan, profile, Contrast.draw(anatomy, rng), rng, options.snr_scale)
    by_stack: dict[int, SampledStack] = {}
    sampled = {s.series_number: [by_stack.setdefault(id(p), sample_stack(anatomy, p)) for p in s.stacks]
               for s in plan}
    return RenderedStudy(seed, index, subject, anatomy, grades, profile, identity, plan, images, sampled)


def generate_study(out_dir: Path, seed: int, index: int, options: PhantomOptions = PhantomOptions()) -> dict:
    """Generate study ``index`` of the batch seeded ``seed`` into ``out_dir``; returns its summary.

    The study is assembled in a hidden temporary folder and renamed into place when complete.
    """
    started = time.perf_counter()
    study = render_study(seed, index, options)
    final = Path(out_dir) / study_folder_name(index)
    work = Path(out_dir) / f".tmp-{study_folder_name(index)}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        truth = write_study(work, study, options)
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # only left if something failed: never leave half a study
    return {
        "folder": final.name,
        "patient_id": study.identity.patient_id,
        "study_uid": study.identity.study_uid,
        "profile": study.profile.name,
        **({} if study.style == CLASSIC else {"style": study.style}),
        "grades": {f"{f.level.value} {f.region.value} {f.side.value}": int(f.grade) for f in truth.findings},
        "seconds": round(time.perf_counter() - started, 2),
    }


def write_study(folder: Path, study: RenderedStudy, options: PhantomOptions) -> StudyFindings:
    """Write a rendered study's DICOM, ground truth, label maps and preview into ``folder``."""
    uids, descriptions, rendered_all = {}, {}, {}
    for series in study.plan:
        rendered = RenderedSeries(
            role=series.role, series_number=series.series_number,
            stacks=[RenderedStack(p.geometry, study.images[series.series_number][i], p.level)
                    for i, p in enumerate(series.stacks)],
            repetition_time=series.timing.repetition_time, echo_time=series.timing.echo_time,
            echo_train_length=series.timing.echo_train_length, slice_thickness=series.slice_thickness,
            spacing_between_slices=series.spacing_between_slices)
        written = write_series(rendered, study.identity, study.profile, folder / "dicom")
        sops = [[""] * p.geometry.n_slices for p in series.stacks]
        for item in written:
            sops[item.stack_index][item.slice_index] = item.sop_instance_uid
        uids[series.series_number] = (written[0].series_instance_uid, sops)
        descriptions[series.series_number] = study.profile.vendor.series_descriptions[series.role]
        rendered_all[series.series_number] = rendered
    extra = {"phantom": {"version": PHANTOM_VERSION, "seed": study.seed, "study_index": study.index,
                         "profile": study.profile.name, "subject": study.subject.describe()}}
    if study.style != CLASSIC:  # classic studies keep today's bytes: no key means classic
        extra["phantom"]["style"] = study.style
    source = f"lss phantom {lss.__version__} (phantom v{PHANTOM_VERSION}) seed {study.seed} study {study.index}"
    truth = build_ground_truth(study.anatomy, study.grades, study.plan, study.sampled, uids, descriptions,
                               study.identity.study_uid, study.identity.patient_id, source, extra,
                               study.deformation.inverse if study.deformation is not None else None)
    write_findings(truth, folder / "ground_truth.json")
    if options.label_maps:
        for series in study.plan:
            for i, planned in enumerate(series.stacks):
                name = f"series{series.series_number:02d}_stack{i}.nrrd"
                write_label_map(study.sampled[series.series_number][i].labels, planned.geometry,
                                folder / "labels" / name)
        write_json(label_legend(), folder / "labels" / "legend.json")
    if options.preview:
        from lss.phantom.preview import write_preview

        write_preview(rendered_all, study.plan, truth, {n: sops for n, (_, sops) in uids.items()},
                      folder / "preview.png")
    return truth


def generate_batch(out_dir: Path, studies: int, seed: int, options: PhantomOptions = PhantomOptions(),
                   workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Generate ``studies`` studies with up to ``workers`` processes, one study in memory per process.

    Writes ``manifest.json`` (studies, grade prevalence per region, timing) and returns it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, studies))
    started = time.perf_counter()
    job = partial(generate_study, out_dir, seed, options=options)
    summaries = []
    if workers == 1:
        for index in range(studies):
            summaries.append(job(index))
            if progress:
                progress(len(summaries), studies)
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for summary in pool.imap(job, range(studies)):
                summaries.append(summary)
                if progress:
                    progress(len(summaries), studies)
    elapsed = time.perf_counter() - started
    manifest = {
        "generator": f"lss phantom {lss.__version__} (phantom v{PHANTOM_VERSION})",
        "seed": seed,
        "options": options.__dict__,
        "studies": summaries,
        "prevalence": grade_prevalence(summaries),
        "seconds": round(elapsed, 2),
        "studies_per_minute": round(60.0 * studies / elapsed, 2) if elapsed > 0 else None,
    }
    write_json(manifest, out_dir / "manifest.json")
    return manifest


def grade_prevalence(summaries: list[dict]) -> dict[str, list[float]]:
    """Fraction of normal/mild/moderate/severe per region type over a batch."""
    counts: dict[str, Counter] = {}
    for summary in summaries:
        for key, grade in summary["grades"].items():
            region = key.split()[1]
            counts.setdefault(region, Counter())[grade] += 1
    return {region: [round(c[g] / sum(c.values()), 4) for g in range(4)] for region, c in counts.items()}
