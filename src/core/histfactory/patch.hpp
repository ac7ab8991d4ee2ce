// JSON patches applied to the typed spec, without a round trip through a JSON document.
#pragma once

#include <hifit/histfactory/spec.hpp>

#include "histfactory/json_spec.hpp"

namespace hifit {

// Applies an RFC 6902 patch whose operations all add, remove or replace whole elements
// (channels, samples, modifiers, observations, measurements, measurement parameters).
// Returns false, leaving `spec` untouched, when some operation needs the generic JSON
// path; throws InvalidPatch/InvalidSpec for indices out of range or invalid values,
// leaving `spec` partly patched (callers patch a copy they drop on error).
bool patch_spec(WorkspaceSpec& spec, const Json& patch, const std::string& source);

} // namespace hifit
