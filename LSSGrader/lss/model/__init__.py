"""The data model shared by ground truth, annotations and predictions (numpy only)."""

from .findings import (
    SERIES_ROLES,
    Box,
    DiscPosition,
    FieldValueError,
    Finding,
    FindingKey,
    FindingsKind,
    SeriesRecord,
    StudyFindings,
    key_order,
)
from .findings_io import (
    SCHEMA_NAME,
    SCHEMA_VERSION,
    FindingsFileError,
    findings_from_dict,
    findings_from_json,
    findings_to_dict,
    findings_to_json,
    read_findings,
    write_findings,
)
from .geometry import StackGeometry
from .summary import summarize_by_key
from .vocabulary import GRADE_COLOURS, Grade, Level, Plane, Region, Side, region_keys

__all__ = [
    "GRADE_COLOURS",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "SERIES_ROLES",
    "Box",
    "DiscPosition",
    "FieldValueError",
    "Finding",
    "FindingKey",
    "FindingsFileError",
    "FindingsKind",
    "Grade",
    "Level",
    "Plane",
    "Region",
    "SeriesRecord",
    "Side",
    "StackGeometry",
    "StudyFindings",
    "findings_from_dict",
    "findings_from_json",
    "findings_to_dict",
    "findings_to_json",
    "key_order",
    "read_findings",
    "region_keys",
    "summarize_by_key",
    "write_findings",
]
