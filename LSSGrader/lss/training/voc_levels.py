"""Disc levels as VOC exports write them: a ``<level>`` element, or a level inside a class name or file name.

Accepted spellings (case ignored): ``L4/L5``, ``L4-L5``, ``L4_L5``, ``L4 L5``, ``l4l5``, ``L4-5``, ``L4/5``,
``L5/S1``, ``L5-S1``, ``l5s1``. Only the lumbar levels L1/L2 … L5/S1 are levels here; ``T12/L1`` and the like
are refused by name.
"""

from __future__ import annotations

import re

from lss.model.vocabulary import Level
from lss.training.voc_refusals import Refusal

LEVEL_SPELLINGS = "L4/L5, L4-L5, L4_L5, l4l5, L4-5 or L5/S1 (L1/L2 … L5/S1)"

# l<upper> then l<lower>, s1, or (shorthand) the lower vertebra's digit right after '-' or '/'
_LEVEL = re.compile(r"(?<![a-z0-9])l([1-5])(?:[\s_\-/]*l([1-5])|[\s_\-/]*(s)1|[-/]?([1-5])(?![0-9]))")
_WHOLE_LEVEL = re.compile(r"^\s*l([1-9])(?:[\s_\-/]*l([1-9])|[\s_\-/]*(s)1|[-/]?([1-9]))\s*$")


def level_of(upper: str, lower: str, where: str) -> Level:
    """The Level of vertebrae such as ('L4', 'L5'); Refusal naming ``where`` when it is not a lumbar disc level."""
    try:
        return Level(f"{upper.upper()}/{lower.upper()}")
    except ValueError:
        raise Refusal("not a lumbar disc level",
                      f"{where}: {upper.upper()}/{lower.upper()} is not a disc level "
                      f"({', '.join(level.value for level in Level)})") from None


def parse_level(text: str) -> Level:
    """The level a ``<level>`` element gives, e.g. 'L5/S1', 'L4-L5', 'l4l5'; Refusal when unreadable."""
    match = _WHOLE_LEVEL.match(text.lower())
    if match is None:
        raise Refusal("unreadable <level>", f"<level>{text}</level> is not a level like {LEVEL_SPELLINGS}")
    return _from_match(match, f"<level>{text}</level>")


def find_levels(text: str, where: str) -> tuple[list[Level], str]:
    """Every level written inside free text (a class or file name), and the text with them cut out."""
    lowered = text.lower()
    levels = [_from_match(match, where) for match in _LEVEL.finditer(lowered)]
    return levels, _LEVEL.sub(" ", lowered)


def file_name_level(*names: str) -> Level | None:
    """The one level the file names (image, XML) agree on; None when they name none, or several different ones."""
    found: set[Level] = set()
    for name in names:
        try:
            found.update(find_levels(name, name)[0])
        except Refusal:
            return None
    return found.pop() if len(found) == 1 else None


def _from_match(match: re.Match, where: str) -> Level:
    upper = f"l{match.group(1)}"
    if match.group(2):
        lower = f"l{match.group(2)}"
    elif match.group(3):
        lower = "s1"
    else:
        lower = f"l{match.group(4)}"
    return level_of(upper, lower, where)
