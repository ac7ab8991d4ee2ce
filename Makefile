# hifit — two entry points: `make demo` and `make test`. Both bootstrap everything they need
# (Debian build packages, a .venv with the Python packages, the compiled extension).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JOBS ?= 2
APT_PACKAGES := g++ cmake ninja-build libeigen3-dev nlohmann-json3-dev libgtest-dev
# Only the tests need a browser (they render the HTML report headless).
APT_TEST_PACKAGES := chromium
BUILD_REQS := "scikit-build-core>=0.10" "nanobind>=2.4" cmake ninja

# Every C++ file of the engine, bindings, tests and examples (folders recursed).
CPP_SOURCES = $(shell find include src/core src/bindings tests/cpp tests/consumer tests/fuzz examples/cpp -name '*.cpp' -o -name '*.hpp' | sort)

.PHONY: demo test system-deps venv install test-cpp test-python lint format bench clean \
	sanitize sanitize-quick build-asan build-tsan test-tsan

system-deps:
	@missing=""; for p in $(APT_PACKAGES) $(APT_EXTRA); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

$(VENV)/.created:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	touch $@

venv: system-deps $(VENV)/.created

# Non-isolated build into a persistent build dir: rebuilds are incremental.
install: venv
	$(PIP) install -q $(BUILD_REQS) numpy click tqdm
	$(PIP) install -q --no-build-isolation -Cbuild-dir=build/py ".[test]"
	@# pocket-coffea is a test reference for hifit.stat only; its own dependencies
	@# (coffea 0.7, awkward 1, old numpy) are not needed by pocket_coffea.utils.stat.
	$(PIP) install -q --no-deps "pocket-coffea==0.9.13"

test-cpp: system-deps
	cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DHIFIT_TESTS=ON >/dev/null
	cmake --build build/cpp -j $(JOBS)
	cd build/cpp && ctest --output-on-failure

test-python: install
	$(PY) -m pytest -q tests/python

test: test-cpp sanitize-quick test-python

# ---- checks: sanitizers and the parser fuzz driver (README, "Checks") ----------------
# build/asan: every C++ test and tests/fuzz/fuzz_parsers with ASan+UBSan; build/tsan:
# the threaded tests (tests/cpp/infer/test_threads.cpp) with TSan. Fuzz budgets and
# seeds are in tests/fuzz/corpus.hpp (smoke, quick, sanitize, campaign).
SANITIZE_CMAKE = cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHIFIT_TESTS=ON
export ASAN_OPTIONS ?= detect_stack_use_after_return=1:strict_string_checks=1
export UBSAN_OPTIONS ?= print_stacktrace=1
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp
# gcc 12's TSan cannot map its shadow memory under high ASLR entropy (newer kernels):
# the threaded tests run with ASLR off when setarch allows it.
TSAN_RUN := $(shell setarch $$(uname -m) -R true 2>/dev/null && echo setarch $$(uname -m) -R)

build-asan: system-deps
	$(SANITIZE_CMAKE) -S . -B build/asan -DHIFIT_FUZZ=ON -DHIFIT_SANITIZE=address,undefined >/dev/null
	cmake --build build/asan -j $(JOBS)

build-tsan: system-deps
	$(SANITIZE_CMAKE) -S . -B build/tsan -DHIFIT_SANITIZE=thread >/dev/null
	cmake --build build/tsan -j $(JOBS) --target hifit_thread_tests

test-tsan: build-tsan
	$(TSAN_RUN) build/tsan/tests/cpp/hifit_thread_tests

# All C++ tests under ASan+UBSan, the fuzz driver's quick budget, the threaded tests
# under TSan: part of `make test`.
sanitize-quick: build-asan test-tsan
	cd build/asan && ctest --output-on-failure -E fuzz_smoke
	build/asan/tests/fuzz/fuzz_parsers --budget quick --out build/asan

# The same with the ctest fuzz runs and a longer fuzz run.
sanitize: build-asan test-tsan
	cd build/asan && ctest --output-on-failure
	build/asan/tests/fuzz/fuzz_parsers --budget sanitize --out build/asan

# Chromium for the report test, installed only by the test targets.
test test-cpp test-python: APT_EXTRA = $(APT_TEST_PACKAGES)

SHARED := ../shared/data/pyhf
# The main job: a generated analysis (ntuples + cabinetry config) through the whole chain,
# then a published ATLAS likelihood fitted from its pyhf JSON.
demo: install
	@echo "== make demo skips Chromium: report.html is written, rendering it is part of make test =="
	@echo "== generating the example analysis (ntuples and config) =="
	$(PY) -m hifit.examples.demo demo-output/analysis
	@echo "== hifit run: templates -> workspace -> fit -> tables -> ranking, limit, significance =="
	$(VENV)/bin/hifit run demo-output/analysis/config.yml -o demo-output/results
	@if [ -d $(SHARED) ]; then \
	  echo "== hifit fit: ATLAS 1Lbb, signal C1N2_Wh_hbb_1000_0 (126 parameters) =="; \
	  $(VENV)/bin/hifit fit $(SHARED)/atlas-1Lbb-ins1755298/BkgOnly.json \
	    --patchset $(SHARED)/atlas-1Lbb-ins1755298/patchset.json --patch C1N2_Wh_hbb_1000_0 \
	    -o demo-output/1Lbb_fit.json | tail -n 3; \
	fi

# One table, hifit vs pyhf vs NextStat on every workload (a few minutes: --quick).
# The detailed per-tool scripts: benchmarks/bench_fit.py, bench_inference.py, ...
bench: install
	$(PIP) install -q --no-build-isolation -Cbuild-dir=build/py ".[bench]"
	$(PY) benchmarks/bench_table.py --quick

lint: venv
	$(PIP) install -q ruff clang-format
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/clang-format --dry-run --Werror $(CPP_SOURCES)

format: venv
	$(PIP) install -q ruff clang-format
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/clang-format -i $(CPP_SOURCES)

clean:
	rm -rf build $(VENV) demo-output
