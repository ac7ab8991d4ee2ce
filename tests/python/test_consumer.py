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


def _readme_block(language: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## C++\n") :]
    start = section.index(f"```{language}\n") + len(language) + 4
    return section[start : section.index("```", start)]


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_readme_cpp_snippet_builds_as_written(tmp_path):
    """The README's CMake and C++ blocks, verbatim: no C++ standard set by the
    consumer, hifit::hifit brings cxx_std_20."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "CMakeLists.txt").write_text(_readme_block("cmake"))
    (source / "main.cpp").write_text(_readme_block("cpp"))
    assert "CXX_STANDARD" not in _readme_block("cmake")
    build = tmp_path / "build"
    subprocess.run(
        ["cmake", "-S", source, "-B", build, f"-Dhifit_DIR={hifit.cmake_dir()}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["cmake", "--build", build], check=True, capture_output=True)
    (tmp_path / "ws.json").write_bytes(TWO_BIN.read_bytes())
    out = subprocess.run(
        [build / "app"], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    py = hifit.Workspace.load(TWO_BIN)
    model = py.model()
    assert float(out.stdout) == pytest.approx(
        hifit.infer.fit(py.data(model), model).twice_nll, abs=1e-6
    )
