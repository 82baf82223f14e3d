"""Where a VOC export's files are: the study folders, the image an XML file names, and what that name says."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from lss.training.voc_images import IMAGE_SUFFIXES
from lss.training.voc_refusals import Refusal

ANNOTATION_FOLDER_NAMES = ("annotations",)  # XML in such a folder belongs to the study folder above it


def study_folders(root: Path) -> dict[Path, list[Path]]:
    """Study folder → its XML files, for every ``*.xml`` at or below ``root`` (sorted)."""
    found: dict[Path, list[Path]] = defaultdict(list)
    for path in sorted(Path(root).rglob("*.xml")):
        if path.is_file():
            folder = path.parent
            if folder.name.lower() in ANNOTATION_FOLDER_NAMES and folder != Path(root):
                folder = folder.parent
            found[folder].append(path)
    return dict(sorted(found.items()))


def named_image(filename_text: str, path_text: str) -> tuple[str, str]:
    """(``<filename>``, ``<path>`` with '/' separators) of a VOC file; ``<filename>`` defaults to the base name of
    ``<path>``. Refusal when neither is given."""
    path = path_text.strip().replace("\\", "/")
    filename = filename_text.strip() or Path(path).name
    if not filename:
        raise Refusal("no image named", "no <filename> (nor <path>) naming the annotated image")
    return filename, path


class ImageFiles:
    """The 2-D image files (PNG, JPG, …) of one study folder, found by the names a VOC file gives."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.by_name: dict[str, list[Path]] = defaultdict(list)
        for path in sorted(self.folder.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                self.by_name[path.name.lower()].append(path)

    @property
    def all(self) -> list[Path]:
        """Every image file of the folder, sorted."""
        return sorted(path for paths in self.by_name.values() for path in paths)

    def find(self, filename: str, path_text: str, xml_path: Path) -> Path | None:
        """The image file an XML file annotates: ``<filename>`` beside the XML or in the study folder, ``<path>``
        as written, the file name anywhere in the study, then LabelImg's default — the XML's stem with an image
        suffix beside it. Refusal when a bare file name is found several times; None when nothing is found."""
        written = Path(path_text) if path_text and Path(path_text).is_absolute() else None
        for candidate in (xml_path.parent / filename, self.folder / filename, written):
            if candidate is not None and candidate.suffix.lower() in IMAGE_SUFFIXES and candidate.is_file():
                return candidate
        for name in (Path(filename).name, Path(path_text).name if path_text else ""):
            found = self.by_name.get(name.lower(), [])
            if len(found) > 1:
                raise Refusal("image file ambiguous", f"image {name!r} is found {len(found)} times in the study "
                                                      f"folder ({', '.join(str(p) for p in found[:3])}): give its "
                                                      f"path relative to the XML file")
            if found:
                return found[0]
        same_stem = [path for suffix in IMAGE_SUFFIXES for path in self.by_name.get(xml_path.stem.lower() + suffix, [])]
        beside = [path for path in same_stem if path.parent in (xml_path.parent, self.folder)]
        if len(beside) == 1 or len(same_stem) == 1:
            return (beside or same_stem)[0]
        return None
