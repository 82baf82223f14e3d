"""What the reader noticed about a study's data, as notes that travel with every grading run: files left out, study
problems (several studies, localizers, mixed frames of reference, one SOPInstanceUID on several images) and stack
problems (gaps, uneven spacing, duplicate slice positions)."""

from __future__ import annotations

from collections import defaultdict

from lss.model.read import QualityNote
from lss.model.study import Study


def data_quality(study: Study) -> list[QualityNote]:
    """Every note about the study's data, file-level first, in reading order."""
    notes = [QualityNote("skipped_file", skipped.reason, file=str(skipped.path)) for skipped in study.skipped]
    notes += [QualityNote("study", problem) for problem in study.problems]
    notes += [QualityNote("stack", problem, series_uid=series.series_uid, stack_index=stack.index)
              for series in study.series for stack in series.stacks for problem in stack.problems]
    notes += [QualityNote("study", text) for text in shared_sop_instance_uids(study)]
    return notes


def shared_sop_instance_uids(study: Study) -> list[str]:
    """One note per SOPInstanceUID that names more than one image: boxes and findings refer to images by it, so
    such images cannot be told apart."""
    holders: dict[str, list[str]] = defaultdict(list)
    for series in study.series:
        for stack in series.stacks:
            for ref in stack.slices:
                holders[ref.sop_instance_uid].append(f"{ref.path}" + (f" frame {ref.frame + 1}" if ref.frame else ""))
    return [f"SOPInstanceUID {uid} is used by {len(images)} images ({', '.join(images[:3])}"
            f"{', …' if len(images) > 3 else ''}): findings on them cannot be told apart"
            for uid, images in holders.items() if len(images) > 1]
