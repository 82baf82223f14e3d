"""`lss inspect` on a phantom study: text and JSON summaries, role overrides, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lss.cli.main import main
from lss.phantom.generate import PhantomOptions, generate_study


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("inspect")
    generate_study(out, 11, 0, PhantomOptions(profile="3T-siemens", label_maps=False))
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


def test_text_summary_names_roles_and_levels(study_folder, capsys):
    assert main(["inspect", str(study_folder)]) == 0
    out = capsys.readouterr().out
    for text in ("t1_tse_sag", "sag_t1", "sag_t2", "ax_t2", "why:", "L1/L2 (", "L5/S1 (", "ground_truth.json"):
        assert text in out


def test_json_summary_from_the_dicom_folder_finds_the_ground_truth_above(study_folder, capsys):
    assert main(["inspect", str(study_folder / "dicom"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    roles = {s["description"]: s["role"]["role"] for s in summary["series"]}
    assert roles == {"t1_tse_sag": "sag_t1", "t2_tse_sag": "sag_t2", "t2_tse_tra": "ax_t2"}
    axial = next(s for s in summary["series"] if s["role"]["role"] == "ax_t2")
    covered = [level for stack in axial["stacks"] for level in stack["levels"]]
    assert covered == ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"]
    assert all(stack["slice_thickness_mm"] > 0 for stack in axial["stacks"])
    assert summary["levels_source"].endswith("ground_truth.json")


def test_without_ground_truth_levels_need_the_detector(study_folder, tmp_path, capsys):
    import shutil

    shutil.copytree(study_folder / "dicom", tmp_path / "copy")
    assert main(["inspect", str(tmp_path / "copy")]) == 0
    assert "needs the disc detector" in capsys.readouterr().out


def test_missing_axial_or_sagittal_series_is_reported(study_folder, tmp_path, capsys):
    import pydicom

    only_sagittal, only_axial = tmp_path / "sagittal", tmp_path / "axial"
    for path in (study_folder / "dicom").rglob("*"):
        if path.is_file():
            target = only_sagittal if "sag" in str(pydicom.dcmread(path, stop_before_pixels=True).SeriesDescription) \
                else only_axial
            target.mkdir(exist_ok=True)
            (target / path.name).write_bytes(path.read_bytes())
    assert main(["inspect", str(only_sagittal), "--json"]) == 0
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any(p.startswith("no axial T2 series") for p in problems), problems
    assert not any(p.startswith("no sagittal") for p in problems), problems
    assert any("central canal only on the mid-sagittal T2" in p for p in problems), problems
    assert main(["inspect", str(only_axial)]) == 0
    text = capsys.readouterr().out
    assert "no sagittal T1 series" in text and "no sagittal series" in text and "no axial" not in text


def test_role_override(study_folder, capsys):
    assert main(["inspect", str(study_folder), "--json"]) == 0
    uid = json.loads(capsys.readouterr().out)["series"][0]["series_uid"]
    assert main(["inspect", str(study_folder), "--json", "--role", f"{uid}=other"]) == 0
    role = json.loads(capsys.readouterr().out)["series"][0]["role"]
    assert role == {**role, "role": "other", "confidence": 1.0, "overridden": True}


@pytest.mark.parametrize("role", ["1.2.3=sag_t9", "no-equals-sign", "1.2.3=sag_t1"])
def test_bad_role_override_is_a_usage_error(study_folder, role, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["inspect", str(study_folder), "--role", role])
    assert exited.value.code == 2
    assert role.partition("=")[0] in capsys.readouterr().err


def test_missing_or_empty_study_is_unusable_input(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nowhere")]) == 3
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not dicom")
    assert main(["inspect", str(tmp_path / "empty")]) == 3


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["inspect", "--help"])
    assert "example:" in capsys.readouterr().out


def test_help_and_inspect_start_without_torch(study_folder):
    """`lss --help` and `lss inspect` are quick: neither loads torch (nor the networks) in a fresh interpreter."""
    probe = ("import contextlib, io, sys\n"
             "from lss.cli.main import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    code = main(['inspect', sys.argv[1]])\n"
             "    try:\n"
             "        main(['--help'])\n"
             "    except SystemExit:\n"
             "        pass\n"
             "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'captum')))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(study_folder)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "0" and done.stdout.strip().endswith("[]"), done.stdout
