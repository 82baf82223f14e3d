"""`lss evaluate` on predictions carrying a reliability: coverage, the kept findings' grading, risk–coverage.

One hand-built study: the central canal at five levels and both neural foramina at five levels (15 keys, no
lateral recess). Each predicted key is built with a reliability, whether it is reliable and whether its
dichotomous call is right, so the expected figures follow from the table below.
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import pytest

from lss.cli.main import main
from lss.evaluation.evaluate import evaluate
from lss.evaluation.reliability_metrics import RISK_COVERAGE_THRESHOLDS, gated_pair
from lss.evaluation.report import render_markdown
from lss.model.findings import Finding, FindingsKind, StudyFindings
from lss.model.findings_io import write_findings
from lss.model.summary import summarize_by_key
from lss.model.vocabulary import Grade, Level, Region, Side

MISSING = "missing"  # no predicted finding: the key is counted as normal
NOT_JUDGED = None  # a predicted finding without a reliability (an older file)

CC, NF = Region.CENTRAL_CANAL, Region.NEURAL_FORAMEN
L = list(Level)
# (level, region, side, reference grade, predicted grade or MISSING, reliability or NOT_JUDGED, reliable)
TABLE = [
    (L[0], CC, Side.NONE, 0, 0, 0.95, True),
    (L[1], CC, Side.NONE, 2, 2, 0.85, True),
    (L[2], CC, Side.NONE, 3, 0, 0.35, False),
    (L[3], CC, Side.NONE, 2, MISSING, NOT_JUDGED, False),
    (L[4], CC, Side.NONE, 1, 3, NOT_JUDGED, False),
    (L[0], NF, Side.LEFT, 0, 1, 0.75, True),
    (L[0], NF, Side.RIGHT, 0, 0, 0.65, True),
    (L[1], NF, Side.LEFT, 2, 3, 0.55, True),
    (L[1], NF, Side.RIGHT, 1, 1, 0.45, False),
    (L[2], NF, Side.LEFT, 0, 2, 0.25, False),
    (L[2], NF, Side.RIGHT, 3, 0, 0.15, False),
    (L[3], NF, Side.LEFT, 2, 0, 0.05, False),
    (L[3], NF, Side.RIGHT, 0, 0, 0.0, False),
    (L[4], NF, Side.LEFT, 1, 1, 0.5, True),
    (L[4], NF, Side.RIGHT, 2, 2, 0.5, True),
]


def probabilities(grade: int) -> tuple[float, float, float, float]:
    return tuple(0.7 if index == grade else 0.1 for index in range(4))  # type: ignore[return-value]


def reads(with_reliability: bool = True) -> tuple[StudyFindings, StudyFindings]:
    """The reference and the prediction of the table's study (``with_reliability=False``: an older prediction)."""
    reference, predicted = [], []
    for level, region, side, truth, guess, reliability, reliable in TABLE:
        reference.append(Finding(level, region, side, Grade(truth)))
        if guess == MISSING:
            continue
        judged = with_reliability and reliability is not NOT_JUDGED
        predicted.append(Finding(level, region, side, Grade(guess), probabilities=probabilities(guess),
                                 detection_score=0.9, reliability=reliability if judged else None,
                                 reliable=reliable if judged else None))
    return (StudyFindings("study.1", FindingsKind.GROUND_TRUTH, reference),
            StudyFindings("study.1", FindingsKind.PREDICTION, predicted))


def write_reads(folder, with_reliability: bool = True):
    """Write both reads under ``folder``; (reference file, prediction file)."""
    folder.mkdir(parents=True, exist_ok=True)
    reference, prediction = reads(with_reliability)
    return write_findings(reference, folder / "truth.json"), write_findings(prediction, folder / "prediction.json")


def right(row) -> bool:
    """Whether the row's dichotomous call (a missing prediction counts as normal) agrees with the reference."""
    guess = 0 if row[4] == MISSING else row[4]
    return (row[3] >= 2) == (guess >= 2)


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    return evaluate(*write_reads(tmp_path_factory.mktemp("gate")))


def test_coverage_counts_and_keys_without_a_reliability_apart(metrics):
    gate = metrics["reliability"]
    assert set(gate) == {"central_canal", "lateral_recess", "neural_foramen", "all"}
    everything = gate["all"]
    assert everything["n_keys"] == 15 == metrics["grading"]["all"]["n"]
    assert (everything["n_with_reliability"], everything["n_reliable"], everything["n_unreliable"]) == (13, 7, 6)
    assert everything["coverage"] == pytest.approx(7 / 13)
    assert everything["without_reliability"] == {"n": 2, "imputed_normal": 1, "not_judged": 1}
    canal = gate["central_canal"]
    assert (canal["n_with_reliability"], canal["n_reliable"], canal["coverage"]) == (3, 2, pytest.approx(2 / 3))
    assert canal["without_reliability"] == {"n": 2, "imputed_normal": 1, "not_judged": 1}
    foramen = gate["neural_foramen"]
    assert (foramen["n_with_reliability"], foramen["n_reliable"]) == (10, 5)
    assert foramen["without_reliability"]["n"] == 0
    recess = gate["lateral_recess"]  # no key of this region: counts 0, nothing to divide
    assert recess["n_keys"] == 0 and recess["coverage"] is None
    assert recess["dichotomous_error"] == {"reliable": None, "unreliable": None, "without_reliability": None}
    assert all(row["coverage"] is None for row in recess["risk_coverage"])


def test_reliable_and_unreliable_findings_are_graded_apart(metrics):
    everything = metrics["reliability"]["all"]
    assert everything["dichotomous_error"]["reliable"] == 0.0
    assert everything["dichotomous_error"]["unreliable"] == pytest.approx(4 / 6)
    assert everything["dichotomous_error"]["without_reliability"] == 1.0  # both counted wrong as built
    reliable, unreliable = everything["reliable"], everything["unreliable"]
    assert (reliable["n"], unreliable["n"]) == (7, 6)
    assert reliable["dichotomous"]["percent_agreement"] == 1.0
    assert reliable["four_grade"]["percent_agreement"] == pytest.approx(5 / 7)
    assert unreliable["dichotomous"]["percent_agreement"] == pytest.approx(2 / 6)
    assert reliable["confusion_2"][0][1] == reliable["confusion_2"][1][0] == 0
    assert reliable["diagnostic"]["sensitivity"] == 1.0 and unreliable["diagnostic"]["sensitivity"] == 0.0
    assert metrics["grading"]["all"]["dichotomous"]["percent_agreement"] == pytest.approx(9 / 15)


def test_risk_coverage_follows_the_table_and_is_monotone(metrics):
    judged = [row for row in TABLE if row[5] is not NOT_JUDGED and row[4] != MISSING]
    table = metrics["reliability"]["all"]["risk_coverage"]
    assert [row["threshold"] for row in table] == list(RISK_COVERAGE_THRESHOLDS) == [i / 10 for i in range(10)]
    for row in table:
        kept = [entry for entry in judged if entry[5] >= row["threshold"]]
        assert row["n"] == len(kept)
        assert row["coverage"] == pytest.approx(len(kept) / len(judged))
        assert row["dichotomous_accuracy"] == pytest.approx(sum(map(right, kept)) / len(kept))
    coverages = [row["coverage"] for row in table]
    assert coverages[0] == 1.0 and coverages[-1] == pytest.approx(1 / 13)
    assert all(a >= b for a, b in itertools.pairwise(coverages))
    assert coverages[0] > coverages[5] > coverages[-1]
    assert table[5]["dichotomous_accuracy"] == 1.0 > table[0]["dichotomous_accuracy"]  # the gate keeps the good
    for region in ("central_canal", "neural_foramen"):
        region_coverages = [row["coverage"] for row in metrics["reliability"][region]["risk_coverage"]]
        assert all(a >= b for a, b in itertools.pairwise(region_coverages))


def test_predictions_without_reliability_give_the_same_output_as_before(tmp_path, metrics):
    truth, prediction = write_reads(tmp_path, with_reliability=False)
    assert json.loads(prediction.read_text())["schema_version"] == "1.0"
    old = evaluate(truth, prediction)
    assert "reliability" not in old
    old_report = render_markdown(old)
    assert "Reliability gate" not in old_report
    truth, prediction = write_reads(tmp_path, with_reliability=True)  # the same files, now with reliabilities
    new = evaluate(truth, prediction)
    assert {name: value for name, value in new.items() if name != "reliability"} == old
    assert render_markdown(new).startswith(old_report)


def test_report_has_the_reliability_gate_section(metrics):
    report = render_markdown(metrics)
    section = report[report.index("## Reliability gate"):]
    assert "| All | 13 | 7 | 53.8% | 2 (1 / 1) | 0.0% | 66.7% | 100.0% |" in section
    assert "| Central canal | 3 | 2 | 66.7% | 2 (1 / 1) |" in section
    assert "| Lateral recess | 0 | 0 | – |" in section
    assert "| All, reliable | 2 | 7 |" in section and "| All, unreliable | 2 | 6 |" in section
    assert "### Risk–coverage" in section
    assert "| 0.0 | 100.0% (66.7%) | – (–) | 100.0% (70.0%) | 100.0% (69.2%) |" in section
    assert "| 0.5 |" in section and "| 0.9 |" in section


def test_cli_summary_mentions_coverage(tmp_path, capsys):
    truth, prediction = write_reads(tmp_path / "reads")
    assert main(["evaluate", "--reference", str(truth), "--predictions", str(prediction),
                 "--out", str(tmp_path / "out")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reliability_coverage"]["all"] == pytest.approx(7 / 13)
    assert summary["reliability_coverage"]["lateral_recess"] is None
    assert "## Reliability gate" in (tmp_path / "out" / "report.md").read_text()
    old_truth, old_prediction = write_reads(tmp_path / "old", with_reliability=False)
    assert main(["evaluate", "--reference", str(old_truth), "--predictions", str(old_prediction),
                 "--out", str(tmp_path / "old_out")]) == 0
    assert "reliability_coverage" not in json.loads(capsys.readouterr().out)


def test_a_key_takes_the_reliability_of_its_worst_finding_and_unjudged_is_never_reliable():
    mild = Finding(L[0], NF, Side.LEFT, Grade.MILD, detection_score=0.99, reliability=0.9, reliable=True)
    severe = Finding(L[0], NF, Side.LEFT, Grade.SEVERE, detection_score=0.5, reliability=0.2, reliable=False)
    (summary,) = summarize_by_key([mild, severe])
    assert (summary.grade, summary.reliability, summary.reliable) == (Grade.SEVERE, 0.2, False)
    key = summary.key
    assert gated_pair(key, 3, summary)[3:] == (0.2, False, False)
    assert gated_pair(key, 3, None)[1:] == (3, 0, None, False, True)
    no_score = dataclasses.replace(mild, reliability=None, reliable=True)  # a verdict without a reliability
    assert gated_pair(key, 1, no_score)[3:] == (None, False, False)
