"""VOC class names: what a name says (level, region, side, grade), a class-name map for other conventions, and
LabelImg's ``predefined_classes.txt``.

Class names (case ignored; ``_``, ``-`` and spaces interchangeable)::

    <region> [<side>] [<grade>] [<level>]     words in any order; the level anywhere (``lss.training.voc_levels``)

    region   central canal : central_canal, canal, spinal_canal, cc         (no side)
             lateral recess: lateral_recess, recess, subarticular, lr       (side required)
             neural foramen: neural_foramen, foramen, foraminal, nf         (side required)
             disc          : disc                                           (no side, no grade)
    side     left, right — the PATIENT's side
    grade    normal | mild | moderate | severe, or 0 | 1 | 2 | 3             (required for regions)

A class-name map (CSV ``name,words`` or a JSON object ``{"name": "words"}``) rewrites other conventions into
these words before parsing, e.g. ``RFS0,right neural foramen normal``; a name with a level in it (``L4-L5_RFS2``)
is looked up without its level, which is kept.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from lss.model.vocabulary import Grade, Level, Region, Side
from lss.training.voc_levels import find_levels
from lss.training.voc_refusals import Refusal

REGION_WORDS: dict[str, Region | None] = {  # None: an intervertebral disc
    "central canal": Region.CENTRAL_CANAL,
    "canal": Region.CENTRAL_CANAL,
    "spinal canal": Region.CENTRAL_CANAL,
    "cc": Region.CENTRAL_CANAL,
    "lateral recess": Region.LATERAL_RECESS,
    "recess": Region.LATERAL_RECESS,
    "subarticular": Region.LATERAL_RECESS,
    "lr": Region.LATERAL_RECESS,
    "neural foramen": Region.NEURAL_FORAMEN,
    "foramen": Region.NEURAL_FORAMEN,
    "foraminal": Region.NEURAL_FORAMEN,
    "nf": Region.NEURAL_FORAMEN,
    "disc": None,
}
SIDE_WORDS: dict[str, Side] = {"left": Side.LEFT, "right": Side.RIGHT}
GRADE_WORDS: dict[str, Grade] = {
    **{grade.label: grade for grade in Grade},
    **{str(int(grade)): grade for grade in Grade},
}
CLASS_NAME_TABLE = (
    "[<level>] <region> [<side>] [<grade>] with level L1-L2 … L5-S1; region central_canal/canal/spinal_canal/cc, "
    "lateral_recess/recess/subarticular/lr, neural_foramen/foramen/foraminal/nf or disc; side left/right "
    "(patient side; required for recess and foramen, none for canal and disc); grade normal/mild/moderate/severe "
    "or 0-3 (required except for a disc); e.g. 'L4-L5_central_canal_moderate', 'lr_left_severe', 'L5/S1 disc'"
)
NOT_UNDERSTOOD = "class name not understood"
CONFLICTING_LEVELS = "conflicting levels"
NOT_PREDEFINED = "class not in predefined_classes.txt"
PREDEFINED_FILE = "predefined_classes.txt"

_SEPARATORS = re.compile(r"[_\-\s]+")


@dataclass(frozen=True)
class ClassLabel:
    """What a VOC class name says."""

    region: Region | None  # None: a disc
    side: Side
    level: Level | None
    grade: Grade | None


def normalised(name: str) -> str:
    """A class name as compared: lower case, runs of ``_``, ``-`` and spaces as one space."""
    return " ".join(word for word in _SEPARATORS.split(name.strip().lower()) if word)


@dataclass
class ClassMap:
    """Class names of another convention → class words this importer reads."""

    words: dict[str, str] = field(default_factory=dict)  # normalised name → words
    source: str = ""

    def apply(self, name: str) -> str:
        """The words a name stands for (the name itself when the map does not list it)."""
        if not self.words:
            return name
        key = normalised(name)
        if key in self.words:
            return self.words[key]
        levels, rest = find_levels(name, f"class {name!r}")
        rest_key = normalised(rest)
        if levels and rest_key in self.words:
            return f"{self.words[rest_key]} {' '.join(level.value for level in levels)}"
        return name


def read_class_map(path: Path) -> ClassMap:
    """A class-name map from a CSV file (``name,words`` rows, an optional header) or a JSON object.

    ValueError naming the file and the line when it cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValueError(f"class map {path}: cannot be read ({error})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"class map {path}: not valid JSON ({error})") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"class map {path}: expected a JSON object of name → class words")
        return ClassMap({normalised(k): v for k, v in data.items()}, str(path))
    words = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in {"name", "class", "label", "from", "source"}:
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise ValueError(f"class map {path} line {number}: expected 'name,class words', got {row}")
        words[normalised(cells[0])] = cells[1]
    return ClassMap(words, str(path))


def parse_class_name(name: str, class_map: ClassMap | None = None) -> ClassLabel:
    """Read a class name such as 'L4-L5_central_canal_moderate' (after the class map, if any); Refusal (a
    ValueError) names the problem and the table."""
    words_text = class_map.apply(name) if class_map else name
    shown = repr(name) if words_text == name else f"{name!r} (mapped to {words_text!r})"
    levels, rest = find_levels(words_text, f"class {shown}")
    if len(set(levels)) > 1:
        raise Refusal(CONFLICTING_LEVELS, f"class {shown} names several levels "
                                          f"({', '.join(level.value for level in levels)})")
    words = [word for word in _SEPARATORS.split(rest) if word]
    found: dict[str, object] = {}
    index = 0
    while index < len(words):
        pair = " ".join(words[index:index + 2])
        if index + 1 < len(words) and pair in REGION_WORDS:
            kind, value, index = "region", REGION_WORDS[pair], index + 2
        else:
            kind, value = _word_kind(shown, words[index])
            index += 1
        if kind in found:
            raise Refusal(NOT_UNDERSTOOD, f"class {shown} names more than one {kind} ({CLASS_NAME_TABLE})")
        found[kind] = value
    return _check_label(shown, levels[0] if levels else None, found)


def _word_kind(shown: str, word: str) -> tuple[str, object]:
    for kind, table in (("region", REGION_WORDS), ("side", SIDE_WORDS), ("grade", GRADE_WORDS)):
        if word in table:
            return kind, table[word]
    raise Refusal(NOT_UNDERSTOOD, f"unknown class {shown}: the word {word!r} is not in the table "
                                  f"({CLASS_NAME_TABLE}); map other conventions with a class map (--class-map)")


def _check_label(shown: str, level: Level | None, found: dict[str, object]) -> ClassLabel:
    if "region" not in found:
        raise Refusal(NOT_UNDERSTOOD, f"unknown class {shown}: no region word ({CLASS_NAME_TABLE})")
    region = found["region"]
    side = found.get("side", Side.NONE)
    grade = found.get("grade")
    if region is None:
        if "side" in found or grade is not None:
            raise Refusal(NOT_UNDERSTOOD, f"class {shown}: a disc takes no side or grade ({CLASS_NAME_TABLE})")
    elif region is Region.CENTRAL_CANAL and "side" in found:
        raise Refusal(NOT_UNDERSTOOD, f"class {shown}: the central canal takes no side ({CLASS_NAME_TABLE})")
    elif region is not Region.CENTRAL_CANAL and "side" not in found:
        raise Refusal(NOT_UNDERSTOOD, f"class {shown}: a {region.label} needs a side, left or right "
                                      f"({CLASS_NAME_TABLE})")
    if region is not None and grade is None:
        raise Refusal(NOT_UNDERSTOOD, f"class {shown}: no grade ({CLASS_NAME_TABLE})")
    return ClassLabel(region, side, level, grade)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PredefinedClasses:
    """LabelImg's list of class names (one a line), compared as ``normalised`` names."""

    path: Path
    names: frozenset[str]

    def check(self, name: str) -> None:
        """Refusal when ``name`` is not in the list."""
        if normalised(name) not in self.names:
            raise Refusal(NOT_PREDEFINED, f"class {name!r} is not in {self.path} ({len(self.names)} classes)")


def read_predefined_classes(path: Path) -> PredefinedClasses:
    """The class names of a ``predefined_classes.txt`` file."""
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    return PredefinedClasses(Path(path), frozenset(normalised(line) for line in lines if line.strip()))


def predefined_classes_for(xml_path: Path, root: Path) -> Path | None:
    """The nearest ``predefined_classes.txt``: beside the XML file, else in a folder above it up to ``root``."""
    folder = Path(xml_path).parent
    root = Path(root)
    while True:
        candidate = folder / PREDEFINED_FILE
        if candidate.is_file():
            return candidate
        if folder == root or folder == folder.parent or root not in folder.parents:
            return None
        folder = folder.parent
