"""`lss agreement`: agreement of a rater with a reference (Gwet's AC1, Cohen's kappa, sensitivity/specificity)."""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

from lss.cli.errors import InputDataError, UsageError

GRADES = ("normal", "mild", "moderate", "severe")
DICHOTOMOUS = ("normal-mild", "moderate-severe")
SHOWN_AT_MOST = 5

EXAMPLE = """examples:
  lss agreement --reference radiologist.csv --rater model.csv
  lss agreement --reference a.csv --rater b.csv --dichotomous --json
  lss agreement --reference a.csv --rater b.csv --id-column level --label-column stenosis \\
      --categories absent,present

Each CSV has one item per row with an id column and a label column (names or 0-based indices).
Items are matched by id; with two categories the second is the positive class."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `agreement` verb."""
    parser = subparsers.add_parser(
        "agreement", help="agreement of a rater with a reference (AC1, kappa, sensitivity/specificity)",
        description="Compare a rater's labels with a reference: percent agreement, Cohen's kappa, Gwet's AC1 "
                    "(SE, 95 % CI, P) over the declared categories and, for two categories, sensitivity and "
                    "specificity with exact 95 % intervals.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, type=Path, help="reference labels (CSV)")
    parser.add_argument("--rater", required=True, type=Path, help="rater labels (CSV)")
    parser.add_argument("--id-column", default="id", help="column with the item id (default id)")
    parser.add_argument("--label-column", default="grade", help="column with the label (default grade)")
    parser.add_argument("--categories", default=",".join(GRADES),
                        help=f"ordered, comma-separated category names (default {','.join(GRADES)})")
    parser.add_argument("--dichotomous", action="store_true",
                        help="map the four grades to two: normal/mild negative, moderate/severe positive")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(run=run)


def parse_categories(text: str) -> tuple[str, ...]:
    """Comma-separated names, stripped, at least two, no duplicates (case-insensitive)."""
    names = tuple(name.strip() for name in text.split(","))
    if len(names) < 2 or any(not name for name in names):
        raise UsageError(f"--categories needs at least two non-empty names (got {text!r})")
    if len({name.lower() for name in names}) != len(names):
        raise UsageError(f"--categories has a repeated name ({text!r})")
    return names


def label_index(value: str, categories: tuple[str, ...]) -> int | None:
    """A label given as a category name (case-insensitive) or a 0-based index; None when it is neither."""
    text = value.strip()
    lowered = [name.lower() for name in categories]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    if text.isdigit() and int(text) < len(categories):
        return int(text)
    return None


def read_labels(path: Path, id_column: str, label_column: str, categories: tuple[str, ...]) -> dict[str, int]:
    """Item id → category index from one CSV; InputDataError naming the file and rows for anything unusable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            if not columns:
                raise InputDataError(f"{path}: empty file (no header row)")
            missing = [name for name in (id_column, label_column) if name not in columns]
            if missing:
                raise InputDataError(f"{path}: missing column(s) {', '.join(missing)}; "
                                     f"found {', '.join(columns)}")
            return _rows_to_labels(path, reader, id_column, label_column, categories)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputDataError(f"{path}: cannot read ({error})") from error


def _rows_to_labels(path: Path, reader: csv.DictReader, id_column: str, label_column: str,
                    categories: tuple[str, ...]) -> dict[str, int]:
    labels: dict[str, int] = {}
    first_row: dict[str, int] = {}
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        item = (row.get(id_column) or "").strip()
        value = row.get(label_column) or ""
        if not item:
            problems.append(f"row {line}: empty id")
            continue
        if item in labels or item in first_row:
            problems.append(f"row {line}: duplicate id {item!r} (first on row {first_row[item]})")
            continue
        first_row[item] = line
        index = label_index(value, categories)
        if index is None:
            problems.append(f"row {line}: unknown label {value!r} (expected one of {', '.join(categories)} "
                            f"or 0..{len(categories) - 1})")
            continue
        labels[item] = index
    if problems:
        shown = "; ".join(problems[:SHOWN_AT_MOST])
        more = f"; and {len(problems) - SHOWN_AT_MOST} more" if len(problems) > SHOWN_AT_MOST else ""
        raise InputDataError(f"{path}: {shown}{more}")
    if not labels:
        raise InputDataError(f"{path}: empty file (no data rows)")
    return labels


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_AT_MOST])
    return shown + (f" … ({len(ids)} in all)" if len(ids) > SHOWN_AT_MOST else "")


def matched_pairs(reference: dict[str, int], rater: dict[str, int], reference_path: Path,
                  rater_path: Path) -> tuple[list[str], list[int], list[int]]:
    """Ids in reference order with both labels; InputDataError when an id is on one side only."""
    only_reference = [item for item in reference if item not in rater]
    only_rater = [item for item in rater if item not in reference]
    messages = []
    if only_reference:
        messages.append(f"{len(only_reference)} id(s) of {reference_path} missing from {rater_path}: "
                        f"{_listed(only_reference)}")
    if only_rater:
        messages.append(f"{len(only_rater)} id(s) of {rater_path} missing from {reference_path}: "
                        f"{_listed(only_rater)}")
    if messages:
        raise InputDataError("; ".join(messages))
    ids = list(reference)
    return ids, [reference[item] for item in ids], [rater[item] for item in ids]


def summarize(reference: list[int], rater: list[int], categories: tuple[str, ...]) -> dict:
    """The JSON summary: agreement statistics, plus sensitivity/specificity when there are two categories."""
    from lss.evaluation.agreement import agreement
    from lss.evaluation.diagnostic import diagnostic_accuracy

    summary: dict = agreement(reference, rater, len(categories), categories=categories).to_json()
    if len(categories) == 2:
        accuracy = diagnostic_accuracy([label == 1 for label in reference], [label == 1 for label in rater])
        summary.update(sensitivity=accuracy.sensitivity, specificity=accuracy.specificity,
                       sensitivity_ci=list(accuracy.sensitivity_ci) if accuracy.sensitivity_ci else None,
                       specificity_ci=list(accuracy.specificity_ci) if accuracy.specificity_ci else None)
    return summary


def _shown(value: object) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, list):
        return f"[{_shown(value[0])}, {_shown(value[1])}]"
    if isinstance(value, float):
        return f"{value:.3g}" if value != 0 and abs(value) < 1e-3 else f"{value:.4f}"
    return str(value)


def table(summary: dict, categories: tuple[str, ...]) -> str:
    """A readable two-column table of the summary."""
    rows = [("categories", ", ".join(categories)), ("items", str(summary["n"])),
            ("percent agreement", _shown(summary["percent_agreement"])),
            ("Cohen's kappa", _shown(summary["cohen_kappa"])), ("Gwet's AC1", _shown(summary["gwet_ac1"])),
            ("  SE", _shown(summary["gwet_ac1_se"])),
            ("  95% CI", _shown([summary["gwet_ac1_ci_low"], summary["gwet_ac1_ci_high"]])),
            ("  P", _shown(summary["p_value"]))]
    if "sensitivity" in summary:
        rows += [(f"sensitivity ({categories[1]})", _shown(summary["sensitivity"])),
                 ("  95% CI (exact)", _shown(summary["sensitivity_ci"])),
                 ("specificity", _shown(summary["specificity"])),
                 ("  95% CI (exact) ", _shown(summary["specificity_ci"]))]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def run(args: argparse.Namespace) -> int:
    """Read both files, match ids, print the statistics (JSON or a table)."""
    categories = parse_categories(args.categories)
    if args.dichotomous and tuple(name.lower() for name in categories) != GRADES:
        raise UsageError(f"--dichotomous needs the four grades {','.join(GRADES)} as --categories")
    reference = read_labels(args.reference, args.id_column, args.label_column, categories)
    rater = read_labels(args.rater, args.id_column, args.label_column, categories)
    _, reference_labels, rater_labels = matched_pairs(reference, rater, args.reference, args.rater)
    if args.dichotomous:
        from lss.evaluation.diagnostic import dichotomize

        reference_labels = [int(v) for v in dichotomize(reference_labels)]
        rater_labels = [int(v) for v in dichotomize(rater_labels)]
        categories = DICHOTOMOUS
    summary = summarize(reference_labels, rater_labels, categories)
    if args.json:
        print(json.dumps({key: (None if isinstance(value, float) and not math.isfinite(value) else value)
                          for key, value in summary.items()}, indent=2))
    else:
        print(table(summary, categories))
    return 0
