"""The annotation formats ``lss train`` reads, by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from lss.entry.choices import FORMAT_CHOICES as FORMATS
from lss.training.annotations import AnnotatedStudy, ImportReport


def importer(name: str, options: Mapping[str, Any] | None = None
             ) -> Callable[[Path, ImportReport | None], Iterator[AnnotatedStudy]]:
    """The import function of a format name (imported lazily: each format has its own dependencies).

    ``options`` are the format's own settings (only ``voc`` has some: ``lss.training.import_voc.VocOptions``
    fields); ValueError when they are given to a format without settings, or name one it does not have.
    """
    if options and name != "voc":
        raise ValueError(f"format {name!r} takes no options (got {', '.join(options)})")
    if name == "native":
        from lss.training.import_native import import_native

        return import_native
    if name == "voc":
        from lss.training.import_voc import VocOptions, import_voc

        return partial(import_voc, options=VocOptions(**(options or {})))
    if name == "rsna":
        from lss.training.import_rsna import import_rsna

        return import_rsna
    if name == "markups":
        from lss.training.import_markups import import_markups

        return import_markups
    raise ValueError(f"unknown annotation format {name!r} (expected one of {', '.join(FORMATS)})")


def import_studies(root: Path, name: str,
                   options: Mapping[str, Any] | None = None) -> tuple[list[AnnotatedStudy], ImportReport]:
    """Every study the format's importer accepts under ``root`` (with the format's ``options``), and its report."""
    report = ImportReport(name)
    return list(importer(name, options)(Path(root), report)), report
