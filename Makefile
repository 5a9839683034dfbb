# The two commands of the README: `make demo` and `make test`. Both run `make setup` first, which
# builds .venv once (skipped while requirements.lock and pyproject.toml are unchanged).
PYTHON ?= python3
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# The CPU index only where its host resolves: offline hosts (this one, CI) resolve nothing but the package
# registries, and pip retries an unreachable index 5 times per package (minutes of set-up for nothing).
TORCH_INDEX_ARG := $(shell $(PYTHON) -c "import socket, urllib.parse as u; \
	socket.getaddrinfo(u.urlsplit('$(TORCH_INDEX)').hostname, 443)" >/dev/null 2>&1 && echo --extra-index-url $(TORCH_INDEX))
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done
DEMO := build/demo
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MOBILEDEPTH_CACHE ?= $(CURDIR)/.cache/mobiledepth

.PHONY: setup demo test test-fast test-tools lint bench train-demo train-fused clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v adb >/dev/null 2>&1 || { echo "installing Debian's adb"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq adb; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq adb; fi; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The pinned CPU torch first: a plain 'torch' requirement would pull a multi-GB CUDA build. The CPU
	# index offers 2.13.0+cpu, which pip prefers to PyPI's 2.13.0 (a local wheel cache serves it offline).
	$(PY) -m pip install -q torch==2.13.0 $(TORCH_INDEX_ARG)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# models/MANIFEST pins the committed checkpoint's sha256: a damaged or swapped file stops the demo here.
demo: setup models/mobiledepth-base.pt
	cd models && sha256sum -c MANIFEST
	$(PY) -m mobiledepth.demo --out $(DEMO) --model models/mobiledepth-base.pt

# The demo checkpoint: trained on procedural scenes (three quarters randomised worlds, a quarter rooms) on the
# CPU (about 15 minutes on 2 cores). It is committed, so `make demo` trains it only when it is missing.
models/mobiledepth-base.pt: | setup
	$(MAKE) train-demo

train-demo: setup
	rm -rf build/synth_train build/train/synth_demo
	$(PY) -m mobiledepth data synth -o build/synth_train --n 600 --seed 11 --scenes mixed
	$(PY) -m mobiledepth train --config configs/synth_demo.toml
	$(PY) -m mobiledepth.train.publish build/train/synth_demo/final.pt models/mobiledepth-base.pt
	cd models && sha256sum mobiledepth-base.pt > MANIFEST

# The int8-friendly variant (models/README.md: mobiledepth-fused), trained by train-demo's recipe on the same
# scenes, so the two differ in layout only. Not committed: it is an alternative, not the shipped model.
train-fused: setup
	test -f build/synth_train/DIW_train.csv || $(PY) -m mobiledepth data synth -o build/synth_train --n 600 --seed 11 \
		--scenes mixed
	rm -rf build/train/synth_fused
	$(PY) -m mobiledepth train --config configs/synth_fused.toml
	$(PY) -m mobiledepth.train.publish build/train/synth_fused/final.pt build/models/mobiledepth-fused.pt

# The HTML report is checked in a real headless browser: Debian's Chromium, installed for the tests only.
test-tools:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium (HTML report test)"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# Style gate: ruff lint (pycodestyle, pyflakes, import order) and formatting, line length 120 (pyproject.toml),
# and no large file in git but the checkpoint pinned in models/MANIFEST (the same hooks as .pre-commit-config.yaml).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/check_large_files.py

# Two pytest workers (pytest-xdist) sharing the tests as they free up: on 2 cores one test's phone, Ray and
# subprocess waits overlap another's CPU work, and the three long NetAdapt runs land on different workers.
# The shared session fixtures build once for both workers (tests/conftest.py). Every test runs alone as well
# (`pytest tests/test_x.py`).
PYTEST_WORKERS ?= 2

test: setup test-tools
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist load --durations=20

test-fast: setup
	$(PY) -m pytest -q -m "not slow" -n $(PYTEST_WORKERS) --dist load

# PYTHONPATH: harness_overhead.py drives the emulated phone, a dev package that is not installed (not in the wheel).
# int8_op_speed.py times the network beside its operators when `make demo` has converted it
DEMO_FILES = $(if $(wildcard build/demo/converted/*_int8.tflite),--network-dir build/demo/converted)

bench: setup
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/host_latency.py --out build/benchmarks/host_latency.json
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/harness_overhead.py --out build/benchmarks/harness_overhead.json
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/train_throughput.py --out build/benchmarks/train_throughput.json
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/int8_op_speed.py --out build/benchmarks/int8_op_speed.json $(DEMO_FILES)
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/fleet_scaling.py --out build/benchmarks/fleet_scaling.json

clean:
	rm -rf build .cache $(VENV)
