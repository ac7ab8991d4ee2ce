#!/usr/bin/env bash
# `pip install` of hifit on a machine without the Debian -dev headers, simulated without
# root: a private mount namespace (unshare -r -m) hides Eigen's and nlohmann_json's
# headers and CMake configs behind empty folders, so only the PyPI build requirements
# (cmeel-eigen, nlohmann-json) can satisfy them. Usage:
#   tests/install/pip_without_system_headers.sh [VENV_DIR] [install|wheel]
# A control build first shows that the hidden system packages are really invisible.
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}  # a shared machine
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${1:-/tmp/hifit-pip-venv}
MODE=${2:-install}
if [ -z "${HIFIT_IN_NAMESPACE:-}" ]; then
  exec env HIFIT_IN_NAMESPACE=1 unshare -r -m "$0" "$VENV" "$MODE"
fi
EMPTY=$(mktemp -d)
for d in /usr/include/eigen3 /usr/include/nlohmann /usr/share/eigen3 /usr/share/cmake/nlohmann_json; do
  [ -d "$d" ] && mount --bind "$EMPTY" "$d"
done
echo "== hidden: $(find /usr/include/eigen3 /usr/include/nlohmann /usr/share/eigen3 /usr/share/cmake/nlohmann_json -mindepth 1 | wc -l) files left in the Debian folders of Eigen and nlohmann_json"

echo "== control: a plain CMake configure must not find Eigen now"
if cmake -S "$REPO" -B "$EMPTY/control" -DHIFIT_TESTS=OFF -DPython_EXECUTABLE=/usr/bin/false \
    >"$EMPTY/control.log" 2>&1; then
  echo "control FAILED: Eigen was still found"; exit 1
fi
grep -m1 -o "Could not find a package configuration file provided by \"Eigen3\"" "$EMPTY/control.log"

rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
if [ "$MODE" = wheel ]; then
  "$VENV/bin/pip" wheel -v --no-deps -Cbuild-dir="$VENV/build" -w "$VENV/wheelhouse" "$REPO" >"$VENV/build.log" 2>&1
  "$VENV/bin/pip" install -q "$VENV"/wheelhouse/hifit-*.whl
else
  "$VENV/bin/pip" install -v -Cbuild-dir="$VENV/build" "$REPO" >"$VENV/build.log" 2>&1
fi
grep "hifit: Eigen3\|hifit: nlohmann_json" "$VENV/build.log"
cd "$EMPTY"
"$VENV/bin/python" -c "import hifit, sys; print('import hifit OK', hifit.__version__, hifit.cmake_dir())"
"$VENV/bin/hifit" --help >/dev/null && echo "hifit CLI OK"

echo "== C++ consumer (no CMAKE_CXX_STANDARD of its own) against the installed package"
cmake -S "$REPO/tests/consumer" -B "$EMPTY/consumer" \
  -Dhifit_DIR="$("$VENV/bin/python" -c 'import hifit; print(hifit.cmake_dir())')" >/dev/null
cmake --build "$EMPTY/consumer" >/dev/null
"$EMPTY/consumer/consumer" "$REPO/../shared/data/pyhf/pyhf-docs-json/2-bin_1-channel.json"
echo "== pip $MODE without system headers: OK"
