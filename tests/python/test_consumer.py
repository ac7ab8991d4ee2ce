"""C++ users: the installed package carries headers, library and a CMake config."""

import shutil
import subprocess
from pathlib import Path

import pytest

import hifit

ROOT = Path(__file__).resolve().parents[2]
TWO_BIN = (
    ROOT / ".." / "shared" / "data" / "pyhf" / "pyhf-docs-json" / "2-bin_1-channel.json"
)


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_find_package_builds_and_runs_a_cpp_consumer(tmp_path):
    build = tmp_path / "build"
    subprocess.run(
        [
            "cmake",
            "-S",
            ROOT / "tests" / "consumer",
            "-B",
            build,
            f"-Dhifit_DIR={hifit.cmake_dir()}",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", build], check=True, capture_output=True)
    out = subprocess.run(
        [build / "consumer", TWO_BIN], check=True, capture_output=True, text=True
    )
    twice_nll, valid = out.stdout.split()
    py = hifit.Workspace.load(TWO_BIN)
    model = py.model()
    assert float(twice_nll) == pytest.approx(
        hifit.infer.fit(py.data(model), model).twice_nll, rel=1e-12
    )
    assert valid == "1"
