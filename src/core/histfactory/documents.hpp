// The JSON documents behind Workspace and PatchSet. Private to the project (core and
// bindings); users only see the opaque types.
#pragma once

#include <hifit/histfactory/workspace.hpp>

#include "histfactory/json_spec.hpp"

namespace hifit {

struct Workspace::Document {
    Json json;
};

struct Workspace::PatchOps {
    const Json& json;
};

struct PatchSet::Document {
    Json json;
};

} // namespace hifit
