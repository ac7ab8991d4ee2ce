// Python objects (dict/list/str/number/bool/None, numpy arrays) straight into a JSON
// document, without a json.dumps round trip.
#pragma once

#include "common.hpp"

#include "../core/json_spec.hpp"

namespace hifit::bindings {

Json to_json(nb::handle obj);

} // namespace hifit::bindings
