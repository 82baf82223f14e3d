"""The annotation formats ``lss train`` reads, by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from lss.entry.choices import FORMAT_CHOICES as FORMATS
from lss.training.annotations import AnnotatedStudy, ImportReport


def importer(name: str) -> Callable[[Path, ImportReport | None], Iterator[AnnotatedStudy]]:
    """The import function of a format name (imported lazily: each format has its own dependencies)."""
    if name == "native":
        from lss.training.import_native import import_native

        return import_native
    if name == "voc":
        from lss.training.import_voc import import_voc

        return import_voc
    if name == "rsna":
        from lss.training.import_rsna import import_rsna

        return import_rsna
    if name == "markups":
        from lss.training.import_markups import import_markups

        return import_markups
    raise ValueError(f"unknown annotation format {name!r} (expected one of {', '.join(FORMATS)})")


def import_studies(root: Path, name: str) -> tuple[list[AnnotatedStudy], ImportReport]:
    """Every study the format's importer accepts under ``root``, and its report."""
    report = ImportReport(name)
    return list(importer(name)(Path(root), report)), report
