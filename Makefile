# dl-lab: `make lab` starts JupyterLab with the course notebooks; `make test` checks everything.
# Every target documents itself with a '## ' comment: `make help` lists them.
include docker/versions.env

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
HARNESS := $(PY) -m harness
VARIANT ?=
GPU ?=
PORT ?=
WORK ?=
PYTEST_ARGS ?=
# Mark the host environment as installed for the current pyproject.toml: the lab's few
# packages (docker, rich, nbformat, openpyxl) for `make lab` and the instructor's commands; torch and the test tools for `make test`.
PYPROJECT_SUM := $(shell cksum < pyproject.toml | cut -d' ' -f1)
VENV_STAMP := $(VENV)/.lab-$(PYPROJECT_SUM)
TEST_STAMP := $(VENV)/.test-$(PYPROJECT_SUM)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36mmake %-14s\033[0m %s\n", $$1, $$2} /^## / {printf "\n%s\n", substr($$0, 4)}' $(MAKEFILE_LIST)

## Set-up
$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@rm -f $(VENV)/.lab-* && touch $@

$(TEST_STAMP): $(VENV_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.test-* && touch $@

.PHONY: venv venv-test
venv: $(VENV_STAMP) ## the host's Python environment for the harness (.venv: docker-py, rich, nbformat, openpyxl)
venv-test: $(TEST_STAMP) ## add torch, pytest, playwright, ruff, mypy... to .venv (for tests and --variant local)

.PHONY: engine
engine: ## make sure a Docker engine answers (as root on Debian: install docker.io and start it)
	@bash docker/ensure-engine.sh

.PHONY: setup
setup: engine venv-test ## everything `make test` needs on this machine (engine, .venv, test tools)
	@bash .ci/install-test-tools.sh

## Images
.PHONY: base
base: engine venv ## the Debian base image (pulled when a registry answers, else debootstrap)
	$(HARNESS) build base

.PHONY: wheels-cpu wheels-cuda
wheels-cpu: venv ## fetch the CPU image's locked wheels into build/wheelhouse/cpu
	$(HARNESS) wheels fetch cpu
wheels-cuda: venv ## fetch the CUDA image's locked wheels (about 3 GB) into build/wheelhouse/cuda
	$(HARNESS) wheels fetch cuda

.PHONY: lock
lock: venv ## re-resolve docker/requirements.in, torch and torchvision into the lock files (CUDA_LINE=12.6: that line's)
	$(HARNESS) wheels lock cpu cuda

.PHONY: image-cpu image-cuda images
image-cpu: engine venv ## build the CPU image (dl-lab:cpu-COURSE_VERSION)
	$(HARNESS) build cpu
image-cuda: engine venv ## build the CUDA image (dl-lab:cuda-COURSE_VERSION; make CUDA_LINE=12.6 image-cuda: dl-lab:cuda126-...)
	$(HARNESS) build cuda
images: engine venv ## build both images
	$(HARNESS) build cpu cuda

## Using the lab
.PHONY: lab
lab: engine venv ## start JupyterLab on http://127.0.0.1 (GPU when there is one; VARIANT=cpu|cuda, GPU=0|1)
	@$(HARNESS) lab $(if $(VARIANT),--variant $(VARIANT)) $(if $(GPU),--gpu $(GPU)) $(if $(PORT),--port $(PORT)) $(if $(WORK),--work $(WORK))

## Labs and grading
LAB ?= 00
SUBMISSIONS ?=
JOBS ?=
.PHONY: labs check grade bench-harness
labs: venv ## generate the student and instructor notebooks (build/labs) from labs/source (STANDALONE=URL: also build/labs/standalone)
	$(HARNESS) labs $(if $(STANDALONE),--standalone '$(STANDALONE)')

# The labs outside the image: the student package as a wheel, to publish on the course's web page.
STANDALONE ?=
.PHONY: practica-wheel
practica-wheel: venv-test ## the student package (comprobar and data, no answers) as a wheel in build/practica, for Colab, Kaggle or any Jupyter
	$(HARNESS) practica-wheel

check: engine venv ## every lab's solutions graded in the CPU image, and in the CUDA image where containers get a GPU
	$(HARNESS) check

grade: engine venv ## grade students' notebooks: make grade LAB=00 SUBMISSIONS='entregas/*.ipynb' [JOBS=2] [SEED=n: replay a run]
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade LAB=00 SUBMISSIONS='entregas/*.ipynb' [JOBS=2]" >&2; exit 2; }
	$(HARNESS) grade $(SUBMISSIONS) --lab $(LAB) $(if $(JOBS),--jobs $(JOBS)) $(if $(SEED),--seed $(SEED))

# The instructor's loop on the hub: collect and grade, then export for the LMS and hand back feedback.
DEADLINE ?=
ROSTER ?=
HUB_NAME ?=
COURSE ?= course.toml
.PHONY: collect export gradebook
collect: engine venv ## copy every student's LAB notebook from the hub (read-only) and grade them: make collect LAB=00 [DEADLINE=2026-12-01T23:59] [ROSTER=roster.csv]
	$(HARNESS) collect $(LAB) $(if $(DEADLINE),--deadline '$(DEADLINE)') $(if $(ROSTER),--roster '$(ROSTER)') $(if $(HUB_NAME),--hub '$(HUB_NAME)') $(if $(JOBS),--jobs $(JOBS)) $(if $(SEED),--seed $(SEED))
export: venv ## Moodle and Canvas grade files, records, statistics and feedback from reports/grade-LAB.json: make export LAB=00 [ROSTER=roster.csv]
	$(HARNESS) export $(LAB) $(if $(ROSTER),--roster '$(ROSTER)')
gradebook: engine venv ## the course gradebook (every lab weighted, LMS files, statistics, plot): make gradebook [COURSE=course.toml] [ROSTER=roster.csv]
	$(HARNESS) gradebook '$(COURSE)' $(if $(ROSTER),--roster '$(ROSTER)')

bench-harness: engine venv ## harness timings: lab 00 run in the CPU container, grading 30 notebooks with --jobs 1 and 2
	$(HARNESS) figures grading

## Benchmark and smoke test (VARIANT=cpu|cuda|local; default: cuda when the engine has the NVIDIA runtime)
# The local variant runs in this machine's Python and needs no engine.
BENCH_ENGINE = $(if $(filter local,$(VARIANT)),,engine)

.PHONY: bench bench-pytest smoke gpu-check
LEVEL ?=
bench: $(BENCH_ENGINE) venv ## CPU vs GPU benchmark in the image: table, reports/bench.json, bench.md, bench.png
	$(HARNESS) bench $(if $(VARIANT),--variant $(VARIANT))

bench-pytest: venv ## pytest-benchmark suite (tests/bench, this Python): reports/bench-pytest.json for CI history
	@mkdir -p reports
	DL_LAB_BENCH=1 $(VENV)/bin/pytest tests/bench --benchmark-only --benchmark-json=reports/bench-pytest.json $(PYTEST_ARGS)

smoke: $(BENCH_ENGINE) venv ## GPU node check (LEVEL=2: about 2 minutes, ECC/Xid/PCIe/memory/GEMM); make exits 2 on any failure: CI calls .venv/bin/harness smoke for its 0/1/3
	$(HARNESS) smoke $(if $(VARIANT),--variant $(VARIANT)) $(if $(LEVEL),--level $(LEVEL))

# A GPU machine without Docker: its Python with torch (GPU_PYTHON: .venv's when there is one, else python3),
# nothing installed by make; every report in reports/gpu-check/.
GPU_PYTHON ?= $(if $(wildcard $(PY)),$(PY),python3)
STEPS ?=
gpu-check: ## on a GPU machine without Docker: smoke 1, labs, torch.compile, smoke 2, bench, bench-pytest (STEPS=labs,compile for some; exit 3: no GPU)
	$(GPU_PYTHON) -m harness gpu-check $(if $(STEPS),--steps $(STEPS))

## Class deployments (deploy/: JupyterHub on one server, Kubernetes, Slurm)
HUB_ARGS ?=
STUDENTS ?=
.PHONY: hub hub-down hub-backup hub-lock bench-hub sif
hub: engine venv ## JupyterHub on 127.0.0.1:HUB_PORT, one lab container per student (GPU=0|1, HUB_ARGS="--mem-limit 8G ...")
	@$(HARNESS) hub up --port $(HUB_PORT) $(if $(VARIANT),--variant $(VARIANT)) $(if $(GPU),--gpu $(GPU)) $(HUB_ARGS)
hub-down: engine venv ## stop the hub and the students' servers; their work and accounts stay (`harness hub purge` deletes them)
	@$(HARNESS) hub down $(HUB_ARGS)
hub-backup: engine venv ## every student's work and the hub's accounts into backups/dl-lab-hub-DATE.tar.gz (harness hub restore puts it back)
	@$(HARNESS) hub backup $(HUB_ARGS)
hub-lock: venv ## re-resolve the hub image's wheels into deploy/jupyterhub/requirements.lock
	$(HARNESS) hub lock
bench-hub: engine venv ## time 1 and 10 (STUDENTS="1 10 20") concurrent spawns on a throw-away hub
	$(HARNESS) figures hub $(if $(STUDENTS),--students $(STUDENTS))
sif: venv ## the lab image as an Apptainer image sif/dl-lab_VARIANT-VERSION.sif, for Slurm (VARIANT=cpu|cuda)
	@$(HARNESS) sif --variant $(or $(VARIANT),cpu)

## Quality
.PHONY: lint
# ruff reads the whole tree (notebooks included, with their own rules in pyproject.toml); mypy --strict reads
# the host's, the image's and the hub's Python (the Jupyter config files use names traitlets injects: c, get_config).
lint: venv-test ## ruff over the whole tree and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy harness in_image docker/scripts labs/practica labs/answer_key deploy/jupyterhub/dl_lab_hub

# Two pytest workers (one test file each at a time): a serial run leaves the CPUs idle about 40 % of
# the time while containers start and servers answer. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
.PHONY: test
test: setup ## build what is missing, then run every test (real engine, containers, browser)
	$(HARNESS) build --if-changed cpu cuda
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

.PHONY: bench-image
bench-image: engine venv ## image sizes, docker-run-to-API start time, rebuild time after a notebook edit
	$(HARNESS) figures images

.PHONY: clean
clean: venv ## remove every container, volume and network the project started, and staged build contexts (the wheelhouse stays)
	$(HARNESS) clean
