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
# Marks the host environment as installed for the current pyproject.toml.
VENV_STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36mmake %-14s\033[0m %s\n", $$1, $$2} /^## / {printf "\n%s\n", substr($$0, 4)}' $(MAKEFILE_LIST)

## Set-up
$(VENV_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

.PHONY: venv
venv: $(VENV_STAMP) ## the host's Python environment for the harness and the tests (.venv)

.PHONY: engine
engine: ## make sure a Docker engine answers (as root on Debian: install docker.io and start it)
	@bash docker/ensure-engine.sh

.PHONY: setup
setup: engine venv ## everything `make test` needs on this machine (engine, .venv, test tools)
	@bash .ci/install-test-tools.sh

## Images
.PHONY: base
base: engine ## the Debian base image (pulled when a registry answers, else debootstrap)
	@bash docker/build-base.sh

.PHONY: wheels-cpu wheels-cuda
wheels-cpu: venv ## fetch the CPU image's locked wheels into build/wheelhouse/cpu
	$(PY) docker/wheels.py fetch cpu
wheels-cuda: venv ## fetch the CUDA image's locked wheels (about 3 GB) into build/wheelhouse/cuda
	$(PY) docker/wheels.py fetch cuda

.PHONY: lock
lock: venv ## re-resolve docker/requirements.in into the two lock files
	$(PY) docker/wheels.py lock cpu
	$(PY) docker/wheels.py lock cuda

.PHONY: image-cpu image-cuda images
image-cpu: engine venv ## build the CPU image (dl-lab:cpu-COURSE_VERSION)
	$(HARNESS) build cpu
image-cuda: engine venv ## build the CUDA image (dl-lab:cuda-COURSE_VERSION)
	$(HARNESS) build cuda
images: image-cpu image-cuda ## build both images

## Using the lab
.PHONY: lab
lab: engine venv ## start JupyterLab on http://127.0.0.1 (GPU when there is one; VARIANT=cpu|cuda, GPU=0|1)
	@$(HARNESS) lab $(if $(VARIANT),--variant $(VARIANT)) $(if $(GPU),--gpu $(GPU)) $(if $(PORT),--port $(PORT)) $(if $(WORK),--work $(WORK))

# <issue-3-targets>
# </issue-3-targets>

# <issue-4-targets>
# </issue-4-targets>

# <issue-5-targets>
# </issue-5-targets>

## Quality
.PHONY: lint
lint: venv ## ruff and mypy
	$(VENV)/bin/ruff check harness tests docker deploy
	$(VENV)/bin/mypy harness

.PHONY: test
test: setup ## build what is missing, then run every test (real engine, containers, browser)
	$(HARNESS) build --if-changed cpu cuda
	$(VENV)/bin/pytest $(PYTEST_ARGS)

.PHONY: bench-image
bench-image: engine venv ## image sizes, docker-run-to-API start time, rebuild time after a notebook edit
	$(PY) -m harness.bench_image

.PHONY: clean
clean: venv ## remove every container, volume and network the project started, and build/
	$(PY) -c 'from harness.containers import remove_project_resources as r; print(f"removed {r()} resources")'
	rm -rf build/context build/labs
