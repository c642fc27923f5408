# ovirt_kubevirt.bridge: setup, demo, tests, linters and benchmarks.
# Every target that needs Python tools calls `setup` first, so a fresh clone
# needs nothing but `make demo` or `make test`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BUILD := $(ROOT)/.build
# A real interpreter, not a pyenv shim: shims exit 127 inside ansible-test.
PYTHON ?= $(shell python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)
PY := $(VENV)/bin/python
COLLECTIONS := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/ovirt_kubevirt/bridge
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/ovirt_kubevirt/bridge
LAB_DIR ?= $(ROOT)/tests/lab/.run

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup system-packages demo test unit sanity lint integration lab-conformance lab-selftest bench soak build docs-check changelog clean lab-up lab-down

help:
	@echo "make demo   - start the local lab and run the datacenter upgrade on it"
	@echo "make test   - unit, sanity, lint and integration tests"
	@echo "make sanity | lint | unit | lab-conformance | lab-selftest | integration | bench | soak | build | changelog | clean"

system-packages:
	@bash $(ROOT)/tests/setup/system-packages.sh

$(VENV)/.stamp: requirements.txt tests/requirements.txt
	@$(MAKE) --no-print-directory system-packages
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -r requirements.txt -r tests/requirements.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(ROOT) $@

setup: $(VENV)/.stamp $(COLLECTION_LINK)
	@bash $(ROOT)/tests/setup/ansible-test-bootstrap.sh $(PY)

# Reuses a lab already running in LAB_DIR; `make lab-down` stops it.
demo: setup
	$(ROOT)/tests/lab/labctl status --dir $(LAB_DIR) >/dev/null 2>&1 || $(ROOT)/tests/lab/labctl up --dir $(LAB_DIR)
	source $(LAB_DIR)/env && ansible-playbook -i localhost, -e ansible_python_interpreter=$(PY) $(ROOT)/playbooks/demo.yml
	@echo "The lab keeps running: source $(LAB_DIR)/env to use it, 'make lab-down' to stop it."

lab-up: setup
	$(ROOT)/tests/lab/labctl up --dir $(LAB_DIR)

lab-down:
	$(ROOT)/tests/lab/labctl down --dir $(LAB_DIR)

unit: setup
	$(PY) -m pytest -q tests/unit

integration: setup
	$(PY) -m pytest -q tests/integration

# The lab's own tests: the simulator, the engine fake and labctl behave as the real ones do.
lab-selftest: setup
	$(PY) -m pytest -q tests/lab/selftest

# The lab runs the real KubeVirt control plane: builds it from the Go module proxy on first use.
lab-conformance: setup
	$(PY) -m pytest -q tests/lab/conformance

# Sanity runs on a copy of the tree laid out as an installed collection.
sanity: setup
	rm -rf $(BUILD)/sanity
	mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ $(SANITY_ROOT)/
	# Its own git repository, or ansible-test finds the outer one, where .build is ignored.
	cd $(SANITY_ROOT) && git init -q && git add -A && ansible-test sanity --venv --python 3.11 --color no

# mypy runs where Python finds the collection as ansible_collections.ovirt_kubevirt.bridge.
lint: setup
	ansible-lint --profile production roles/ playbooks/
	yamllint --strict roles playbooks meta galaxy.yml changelogs .yamllint
	ruff check plugins tests/unit bench
	cd $(COLLECTIONS) && mypy --config-file $(ROOT)/.mypy.ini -p ansible_collections.ovirt_kubevirt.bridge.plugins
	MYPYPATH=$(COLLECTIONS) mypy --config-file $(ROOT)/.mypy.ini tests/unit/fakes.py

build: setup
	mkdir -p $(BUILD)/dist
	ansible-galaxy collection build --force --output-path $(BUILD)/dist .

docs-check: build
	rm -rf $(BUILD)/install
	ansible-galaxy collection install --force -p $(BUILD)/install $(BUILD)/dist/ovirt_kubevirt-bridge-*.tar.gz
	bash $(ROOT)/tests/setup/check-docs.sh $(BUILD)/install
	bash $(ROOT)/tests/setup/check-changelog.sh

# CHANGELOG.rst from changelogs/fragments, for the version in galaxy.yml (refreshed until it is cut).
changelog: setup
	antsibull-changelog lint
	antsibull-changelog release --reload-plugins --version $$(sed -n 's/^version: *//p' galaxy.yml) --refresh-fragments without-archives

test: setup unit sanity lint docs-check lab-conformance lab-selftest integration

bench: setup
	PYTHONPATH=$(COLLECTIONS) $(PY) -m bench.run

soak: setup
	$(PY) -m pytest -q -m soak tests/integration

clean:
	-$(ROOT)/tests/lab/labctl down --dir $(LAB_DIR)
	rm -rf $(BUILD) tests/output .pytest_cache
