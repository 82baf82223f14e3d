# LSS developer tasks. Every target that runs code creates .venv first if it is missing.
#   make test    run the pytest suite        make demo    grade the synthetic demo study
#   make lint    ruff over the sources       make bench   benchmarks (if present)
#   make venv    (re)install the environment make clean   remove generated files
#   make cmake-sync / requirements-sync   regenerate the module CMake lists / the module's requirements.txt
#   make golden  recompute Testing/golden/outputs_sha256.json (only when an output is meant to change; NOTE=why)

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_PIP := $(VENV)/bin/pip
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
INSTALLED_STAMP := $(VENV)/.installed
DEMO_DIR := demo_output

.PHONY: venv test lint demo demo-model bench clean cmake-sync requirements-sync golden

venv: $(INSTALLED_STAMP)

# Reinstalls whenever pyproject.toml changes (new or changed dependencies).
$(INSTALLED_STAMP): pyproject.toml
	@if [ ! -x $(VENV_PYTHON) ]; then $(PYTHON) -m venv $(VENV); fi
	$(VENV_PIP) install --upgrade pip
	$(VENV_PIP) install $(TORCH_PINS)
	$(VENV_PIP) install -e '.[ml,test]'
	@touch $@

test: venv
	$(VENV_PYTHON) -m pytest Testing -q

lint: venv
	$(VENV)/bin/ruff check LSSGrader LSSTraining Testing Resources tools

demo: venv
	@if [ ! -d $(DEMO_DIR)/study/PHANTOM_0000 ]; then \
		$(VENV)/bin/lss phantom --out $(DEMO_DIR)/study --studies 1 --seed 7 --preview --workers 1; fi
	$(VENV)/bin/lss grade $(DEMO_DIR)/study/PHANTOM_0000 --out $(DEMO_DIR)/read
	@echo
	@cat $(DEMO_DIR)/read/report.md
	@echo
	@echo "Overlays (boxes coloured by grade, heatmaps): $(DEMO_DIR)/read/overlays/"
	@echo "Heatmap volumes (NRRD, source geometry):    $(DEMO_DIR)/read/heatmaps/"
	@echo "Findings: $(DEMO_DIR)/read/findings.json, findings.csv, rsna.csv; ground truth: $(DEMO_DIR)/study/PHANTOM_0000/ground_truth.json"

# Re-train the bundled demo model (Resources/Models/demo) from phantom studies; see README "Training".
DEMO_MODEL_DATA := demo_model_data
demo-model: venv
	$(VENV)/bin/lss phantom --out $(DEMO_MODEL_DATA)/train --studies 200 --seed 1000 --enriched --style mixed
	$(VENV)/bin/lss phantom --out $(DEMO_MODEL_DATA)/heldout --studies 40 --seed 5000
	$(VENV)/bin/lss train --data $(DEMO_MODEL_DATA)/train --holdout $(DEMO_MODEL_DATA)/heldout --format native \
		--preset demo --synthetic --seed 0 --device cpu --detector-epochs 6 \
		--intensity series_robust --crop-intensity context_robust --out Resources/Models/demo
	$(VENV_PYTHON) Testing/benchmarks/bench_robustness.py --studies 6 --record Resources/Models/demo/generalisation.json

bench: venv
	@if [ -f Testing/benchmarks/run_all.py ]; then \
		$(VENV_PYTHON) Testing/benchmarks/run_all.py; \
	else \
		echo "No benchmarks yet (Testing/benchmarks/run_all.py is missing)."; \
	fi

cmake-sync:
	$(PYTHON) tools/sync_cmake_lists.py

# Prints every golden file whose hash changed; say why in NOTE (appended to the file's "about") and the commit.
golden: venv
	OMP_NUM_THREADS=1 PYTHONPATH=LSSGrader $(VENV_PYTHON) tools/golden_hashes.py --note "$(NOTE)"

# LSSGrader/Resources/requirements.txt (what the Slicer module pip-installs) from pyproject.toml.
requirements-sync:
	$(PYTHON) tools/sync_requirements.py

clean:
	rm -rf $(DEMO_DIR) $(DEMO_MODEL_DATA) .pytest_cache .ruff_cache build
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -print -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -type d -name '*.egg-info' -print -exec rm -rf {} +
