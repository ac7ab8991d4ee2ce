// JSON text <-> workspace spec, with schema validation that names the JSON path.
#pragma once

#include <hifit/histfactory/spec.hpp>

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

// Parsers of single elements (used for patch values); errors name source and path.
Channel channel_from_json(const Json& node, const std::string& source,
                          const std::string& path);
Sample sample_from_json(const Json& node, const std::string& source,
                        const std::string& path);
Modifier modifier_from_json(const Json& node, const std::string& source,
                            const std::string& path);
Observation observation_from_json(const Json& node, const std::string& source,
                                  const std::string& path);
Measurement measurement_from_json(const Json& node, const std::string& source,
                                  const std::string& path);
ParameterConfig parameter_from_json(const Json& node, const std::string& source,
                                    const std::string& path);

// The workspace document of a spec (pyhf schema 1.0.0).
Json workspace_to_json(const WorkspaceSpec& spec);

// Short description of a JSON value's type for error messages ("string \"x\"", "null").
std::string describe(const Json& value);

} // namespace hifit
