"""`lss agreement`: CSV matching, label parsing, JSON and table output, exit codes for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lss.cli.main import main

AGREEMENT_KEYS = {"n", "percent_agreement", "cohen_kappa", "gwet_ac1", "gwet_ac1_se", "gwet_ac1_ci_low",
                  "gwet_ac1_ci_high", "p_value"}
DIAGNOSTIC_KEYS = {"sensitivity", "sensitivity_ci", "specificity", "specificity_ci"}


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "id,grade") -> Path:
    path.write_text(header + "\n" + "".join(f"{item},{label}\n" for item, label in rows), encoding="utf-8")
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    reference = write_csv(tmp_path / "reference.csv",
                          [("s1", "normal"), ("s2", "mild"), ("s3", "severe"), ("s4", "2"), ("s5", "moderate")])
    rater = write_csv(tmp_path / "rater.csv",  # other order, indices and names mixed, different case
                      [("s2", "Mild"), ("s1", "0"), ("s3", "moderate"), ("s5", "3"), ("s4", "moderate")])
    return reference, rater


def run_json(capsys, *args: str) -> dict:
    assert main(["agreement", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_four_grades_json(pair, capsys):
    reference, rater = pair
    summary = run_json(capsys, "--reference", str(reference), "--rater", str(rater))
    assert set(summary) == AGREEMENT_KEYS
    assert summary["n"] == 5
    assert summary["percent_agreement"] == pytest.approx(0.6)
    from lss.evaluation.agreement import agreement
    expected = agreement([0, 1, 3, 2, 2], [0, 1, 2, 2, 3], 4).to_json()
    assert summary == pytest.approx(expected)


def test_dichotomous_adds_sensitivity_and_specificity(pair, capsys):
    reference, rater = pair
    summary = run_json(capsys, "--reference", str(reference), "--rater", str(rater), "--dichotomous")
    assert set(summary) == AGREEMENT_KEYS | DIAGNOSTIC_KEYS
    assert summary["gwet_ac1"] == 1.0 and summary["gwet_ac1_se"] == 0.0 and summary["p_value"] is None
    assert summary["sensitivity"] == 1.0 and summary["specificity"] == 1.0
    assert summary["sensitivity_ci"] == pytest.approx([0.025 ** (1 / 3), 1.0])  # 3 of 3 positives found
    assert summary["specificity_ci"] == pytest.approx([0.025 ** (1 / 2), 1.0])


def test_two_custom_categories_second_is_positive(tmp_path, capsys):
    reference = write_csv(tmp_path / "a.csv", [("1", "absent"), ("2", "present"), ("3", "present"),
                                               ("4", "absent")], header="level,finding")
    rater = write_csv(tmp_path / "b.csv", [("1", "absent"), ("2", "present"), ("3", "absent"),
                                           ("4", "present")], header="level,finding")
    summary = run_json(capsys, "--reference", str(reference), "--rater", str(rater), "--id-column", "level",
                       "--label-column", "finding", "--categories", "absent,present")
    assert summary["sensitivity"] == pytest.approx(0.5) and summary["specificity"] == pytest.approx(0.5)
    assert summary["n"] == 4 and len(summary["sensitivity_ci"]) == 2


def test_table_output(pair, capsys):
    reference, rater = pair
    assert main(["agreement", "--reference", str(reference), "--rater", str(rater)]) == 0
    out = capsys.readouterr().out
    assert "Gwet's AC1" in out and "Cohen's kappa" in out and "95% CI" in out


def expect_bad_input(capsys, *args: str) -> str:
    assert main(["agreement", *args]) == 3
    return capsys.readouterr().err


def test_missing_ids_are_listed(pair, tmp_path, capsys):
    reference, _ = pair
    rater = write_csv(tmp_path / "short.csv", [("s1", "normal"), ("s2", "mild"), ("extra", "mild")])
    err = expect_bad_input(capsys, "--reference", str(reference), "--rater", str(rater))
    assert "s3" in err and "s4" in err and "extra" in err and "short.csv" in err


def test_unknown_label_names_row_and_value(pair, tmp_path, capsys):
    reference, _ = pair
    rater = write_csv(tmp_path / "bad.csv", [("s1", "normal"), ("s2", "huge"), ("s3", "7")])
    err = expect_bad_input(capsys, "--reference", str(reference), "--rater", str(rater))
    assert "bad.csv" in err and "row 3" in err and "'huge'" in err and "row 4" in err and "'7'" in err


def test_duplicate_ids(pair, tmp_path, capsys):
    reference, _ = pair
    rater = write_csv(tmp_path / "dup.csv", [("s1", "normal"), ("s1", "mild")])
    err = expect_bad_input(capsys, "--reference", str(reference), "--rater", str(rater))
    assert "duplicate id 's1'" in err and "row 3" in err and "row 2" in err


def test_empty_and_missing_columns(pair, tmp_path, capsys):
    reference, _ = pair
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "empty" in expect_bad_input(capsys, "--reference", str(reference), "--rater", str(empty))
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,grade\n", encoding="utf-8")
    assert "no data rows" in expect_bad_input(capsys, "--reference", str(reference), "--rater", str(header_only))
    wrong = write_csv(tmp_path / "wrong.csv", [("s1", "normal")], header="id,label")
    err = expect_bad_input(capsys, "--reference", str(reference), "--rater", str(wrong))
    assert "wrong.csv" in err and "missing column" in err and "grade" in err
    missing = tmp_path / "nope.csv"
    assert "nope.csv" in expect_bad_input(capsys, "--reference", str(reference), "--rater", str(missing))


def test_bad_usage_exit_2(pair, capsys):
    reference, rater = pair
    with pytest.raises(SystemExit) as raised:
        main(["agreement", "--reference", str(reference), "--rater", str(rater), "--categories", "only"])
    assert raised.value.code == 2
    with pytest.raises(SystemExit) as raised:
        main(["agreement", "--reference", str(reference), "--rater", str(rater), "--categories", "a,b",
              "--dichotomous"])
    assert raised.value.code == 2


def test_subprocess_exit_codes_and_json(pair, tmp_path):
    lss = Path(sys.executable).parent / "lss"
    reference, rater = pair
    done = subprocess.run([str(lss), "agreement", "--reference", str(reference), "--rater", str(rater), "--json"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert set(json.loads(done.stdout)) == AGREEMENT_KEYS
    bad = write_csv(tmp_path / "bad.csv", [("s1", "what")])
    failed = subprocess.run([str(lss), "agreement", "--reference", str(reference), "--rater", str(bad), "--json"],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 3
    assert "bad.csv" in failed.stderr and "Traceback" not in failed.stderr and failed.stdout == ""
