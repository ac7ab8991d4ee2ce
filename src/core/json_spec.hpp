// JSON text <-> workspace spec, with schema validation that names the JSON path.
#pragma once

#include <hifit/spec.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace hifit {

using Json = nlohmann::json;

// Parses JSON text; syntax errors name the source and the line.
Json parse_json_text(std::string_view text, const std::string& source);
Json read_json_file(const std::string& path);

// Validates a workspace document (pyhf schema 1.0.0) and converts it.
WorkspaceSpec workspace_from_json(const Json& doc, const std::string& source);

// Short description of a JSON value's type for error messages ("string \"x\"", "null").
std::string describe(const Json& value);

} // namespace hifit
