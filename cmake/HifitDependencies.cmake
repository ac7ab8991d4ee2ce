# Eigen and nlohmann_json (both header-only, private to the engine).
# `pip install .` gets them as build requirements from PyPI (cmeel-eigen, nlohmann-json)
# inside the build environment, so no system headers are needed; otherwise (the `make`
# route, plain CMake builds) the system packages are used.
set(_hifit_py "${Python_EXECUTABLE}")
if(NOT _hifit_py)
  find_program(_hifit_py NAMES python3 python)
endif()
set(_hifit_cmeel "")
set(_hifit_nlohmann "")
if(_hifit_py)
  execute_process(
    COMMAND "${_hifit_py}" "${CMAKE_CURRENT_LIST_DIR}/python_build_deps.py"
    OUTPUT_VARIABLE _hifit_deps RESULT_VARIABLE _hifit_rc ERROR_QUIET)
  if(_hifit_rc EQUAL 0)
    string(REPLACE "\n" ";" _hifit_deps "${_hifit_deps}")
    list(LENGTH _hifit_deps _hifit_n)
    if(_hifit_n GREATER_EQUAL 2)
      list(GET _hifit_deps 0 _hifit_cmeel)
      list(GET _hifit_deps 1 _hifit_nlohmann)
    endif()
  endif()
endif()

if(_hifit_cmeel)
  list(PREPEND CMAKE_PREFIX_PATH "${_hifit_cmeel}")
endif()
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
message(STATUS "hifit: Eigen3 ${Eigen3_VERSION} from ${Eigen3_DIR}")

if(_hifit_nlohmann)
  # The PyPI package ships the headers only: an imported target stands in for its config.
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_hifit_nlohmann}")
  message(STATUS "hifit: nlohmann_json from ${_hifit_nlohmann} (PyPI nlohmann-json)")
else()
  find_package(nlohmann_json 3.10 REQUIRED)
  message(STATUS "hifit: nlohmann_json ${nlohmann_json_VERSION} from ${nlohmann_json_DIR}")
endif()
