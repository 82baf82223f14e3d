"""Recompute Testing/golden/outputs_sha256.json (`make golden`): the SHA-256 of every file the phantom (seed 7)
and `lss grade` (seed 7 with heatmaps "all"; seed 11 with study id 42) write, made exactly as
Testing/test_grade_pipeline.py makes them: one torch thread, CPU, the bundled demo model, run.json aside.

Run it only when an output is meant to change; it prints every file whose hash changed, appeared or went, so the
commit can say which and why. ``--check`` prints the same without writing. ``--note`` appends a sentence to the
file's "about".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "Testing" / "golden" / "outputs_sha256.json"


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` but run.json (which holds timings), by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "run.json"}


def current_hashes(work: Path) -> dict[str, dict[str, str]]:
    """The three golden entries as the code makes them now."""
    import torch

    from lss.bundle.demo import DEMO_BUNDLE
    from lss.bundle.store import load_bundle
    from lss.dicom.identify import assign_roles
    from lss.dicom.reader import read_study
    from lss.entry.grade import GradeRequest, run_grading
    from lss.phantom.generate import PhantomOptions, generate_study
    from lss.pipeline.result import GradingOptions
    from lss.pipeline.run import grade_study
    from lss.report.outputs import write_outputs

    torch.set_num_threads(1)
    generate_study(work / "seed7", 7, 0, PhantomOptions())
    study7 = work / "seed7" / "PHANTOM_0000"
    phantom = file_hashes(study7)
    run = grade_study(assign_roles(read_study(study7)), load_bundle(DEMO_BUNDLE),
                      GradingOptions(device="cpu", heatmaps="all"))
    write_outputs(run, work / "graded7")
    generate_study(work / "seed11", 11, 0, PhantomOptions())
    run_grading(GradeRequest(work / "seed11" / "PHANTOM_0000", work / "graded11", study_id="42"))
    return {"phantom_seed7": phantom, "grade_seed7_heatmaps_all": file_hashes(work / "graded7"),
            "grade_seed11_study_id_42": file_hashes(work / "graded11")}


def changes(old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]) -> list[str]:
    """'entry: file changed|new|gone' for every difference."""
    lines = []
    for entry, hashes in new.items():
        before = old.get(entry, {})
        for name in sorted(set(before) | set(hashes)):
            if name not in before:
                lines.append(f"{entry}: {name} new")
            elif name not in hashes:
                lines.append(f"{entry}: {name} gone")
            elif before[name] != hashes[name]:
                lines.append(f"{entry}: {name} changed")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Recompute, report, and (unless --check) write the golden hashes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report the differences")
    parser.add_argument("--note", default="", help="a sentence appended to the file's 'about'")
    args = parser.parse_args(argv)
    old = json.loads(GOLDEN.read_text())
    with tempfile.TemporaryDirectory() as work:
        new = current_hashes(Path(work))
    report = changes(old, new)
    print("\n".join(report) if report else "no change")
    if not args.check and report:
        about = old["about"] + (f" {args.note}" if args.note else "")
        GOLDEN.write_text(json.dumps({"about": about, **new}, indent=1) + "\n")
    return 1 if args.check and report else 0


if __name__ == "__main__":
    sys.exit(main())
