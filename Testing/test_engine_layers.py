"""The engine's floors (DESIGN.md §1): inference never loads training, the phantom or MONAI's losses, and the report
and scene adaptors load no torch — checked in a fresh interpreter, so nothing imported by other tests hides a
leak."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_FOR_INFERENCE = ("lss.training", "lss.phantom", "monai.losses")

PROBE = """
import importlib, json, pkgutil, sys
name = sys.argv[1]
module = importlib.import_module(name)
for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


INFERENCE = ("lss.pipeline", "lss.explain", "lss.report", "lss.scene", "lss.entry.grade", "lss.cli.grade_command")
GRADING = ("lss.pipeline", "lss.preprocess", "lss.explain")  # MONAI is for training (augmentation) only
TORCH_FREE = ("lss.report", "lss.scene", "lss.model", "lss.entry.choices", "lss.pipeline.reliability")
LEAKING = "lss.training.annotations"  # the probe's own check: this one does load lss.training
AUGMENT = "lss.training.augment"  # and this one MONAI


@pytest.fixture(scope="module")
def loaded_modules() -> dict[str, set[str]]:
    """Per package, every module a fresh interpreter holds after importing it and all its submodules (the
    interpreters run side by side)."""
    names = sorted({*INFERENCE, *GRADING, *TORCH_FREE, LEAKING, AUGMENT})
    running = {name: subprocess.Popen([sys.executable, "-c", PROBE, name], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for name in names}
    loaded = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name}: {err}"
        loaded[name] = set(json.loads(out.splitlines()[-1]))
    return loaded


def offending(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("name", INFERENCE)
def test_inference_loads_no_training_phantom_or_loss_module(loaded_modules, name):
    assert offending(loaded_modules[name], FORBIDDEN_FOR_INFERENCE) == []


@pytest.mark.parametrize("name", GRADING)
def test_grading_loads_no_monai(loaded_modules, name):
    assert offending(loaded_modules[name], ("monai",)) == []


@pytest.mark.parametrize("name", TORCH_FREE)
def test_outputs_and_data_model_load_no_torch(loaded_modules, name):
    assert offending(loaded_modules[name], ("torch", "torchvision", "captum", "monai")) == []


def test_the_probe_sees_a_leak_where_there_is_one(loaded_modules):
    assert offending(loaded_modules[LEAKING], FORBIDDEN_FOR_INFERENCE)
    assert offending(loaded_modules[AUGMENT], ("monai",))  # training's augmentation does load MONAI
    assert offending(loaded_modules["lss.pipeline"], ("torch",))
