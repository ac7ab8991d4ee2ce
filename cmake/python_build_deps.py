"""Print where the Python build environment keeps Eigen and nlohmann_json.

Line 1: the cmeel prefix of the `cmeel-eigen` package (holds share/eigen3/cmake),
line 2: the include folder of the `nlohmann-json` package (headers only, no CMake
config). An empty line means "not installed": CMake then uses the system packages.
Packages are located without importing them (nlohmann_json imports extra modules).
"""

import importlib.util
import os
import sys


def cmeel_prefix() -> str:
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "cmeel.prefix")
        if os.path.isdir(os.path.join(candidate, "share", "eigen3", "cmake")):
            return candidate
    return ""


def nlohmann_include() -> str:
    spec = importlib.util.find_spec("nlohmann_json")
    if spec is None or not spec.submodule_search_locations:
        return ""
    for location in spec.submodule_search_locations:
        include = os.path.join(location, "include")
        if os.path.isfile(os.path.join(include, "nlohmann", "json.hpp")):
            return include
    return ""


print(cmeel_prefix().replace(os.sep, "/"))
print(nlohmann_include().replace(os.sep, "/"))
