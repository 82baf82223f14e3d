"""The requirements file the LSS Grader module installs in Slicer stays equal to pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from module_libraries import load_tool


@pytest.fixture(scope="module")
def sync_tool():
    return load_tool("sync_requirements")


def test_requirements_file_is_generated_from_pyproject(repo_root: Path, sync_tool) -> None:
    shipped = repo_root / "LSSGrader" / "Resources" / "requirements.txt"
    assert shipped.read_text(encoding="utf-8") == sync_tool.render(sync_tool.engine_requirements()), (
        "LSSGrader/Resources/requirements.txt is stale: run `make requirements-sync`")
    assert sync_tool.main(["--check"]) == 0


def test_requirements_are_the_dependencies_and_the_ml_extra_without_torch(repo_root: Path, sync_tool) -> None:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    expected = [*project["dependencies"], *project["optional-dependencies"]["ml"]]
    listed = sync_tool.engine_requirements()
    assert [r for r in expected if not r.startswith("torch>") and not r.startswith("torch=")] == listed
    assert "torch" not in {sync_tool.distribution_name(r) for r in listed}
    names = {sync_tool.distribution_name(r) for r in listed}
    assert {"torchvision", "captum", "monai", "safetensors", "pydicom"} <= names


def test_the_module_reads_the_same_requirements(repo_root: Path, sync_tool) -> None:
    import module_libraries  # noqa: F401  (puts LSSGraderLib on sys.path)
    from LSSGraderLib.requirements import readRequirements

    assert readRequirements() == sync_tool.engine_requirements()


def test_check_mode_reports_a_stale_file(tmp_path: Path, sync_tool, monkeypatch) -> None:
    stale = tmp_path / "requirements.txt"
    stale.write_text("numpy\n", encoding="utf-8")
    monkeypatch.setattr(sync_tool, "REQUIREMENTS", stale)
    assert sync_tool.main(["--check"]) == 1
    assert sync_tool.main([]) == 0
    assert sync_tool.main(["--check"]) == 0
