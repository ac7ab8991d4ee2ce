// Python objects (dict/list/str/number/bool/None, numpy arrays) read as JSON documents
// without a json.dumps round trip.
#pragma once

#include "common.hpp"

#include "histfactory/json_spec.hpp"

#include <hifit/histfactory/workspace.hpp>

namespace hifit::bindings {

// A validated workspace read straight from a Python dict (errors name source and path).
Workspace workspace_from_python(nb::handle spec, const std::string& source);

} // namespace hifit::bindings
