#include "histfactory/json_spec.hpp"
#include "histfactory/spec_reader.hpp"

#include <hifit/errors.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace hifit {

namespace {

Json modifier_to_json(const Modifier& m) {
    Json data;
    switch (m.type) {
    case ModifierType::normsys:
        data = {{"hi", m.hi}, {"lo", m.lo}};
        break;
    case ModifierType::histosys:
        data = {{"hi_data", m.hi_data}, {"lo_data", m.lo_data}};
        break;
    case ModifierType::shapesys:
    case ModifierType::staterror:
        data = m.data;
        break;
    default:
        break;
    }
    return {{"name", m.name}, {"type", to_string(m.type)}, {"data", data}};
}

Json parameter_to_json(const ParameterConfig& p) {
    Json out = {{"name", p.name}};
    if (p.inits) out["inits"] = *p.inits;
    if (p.auxdata) out["auxdata"] = *p.auxdata;
    if (p.factors) out["factors"] = *p.factors;
    if (p.sigmas) out["sigmas"] = *p.sigmas;
    if (p.fixed) out["fixed"] = *p.fixed;
    if (p.bounds) {
        Json bounds = Json::array();
        for (const auto& [lo, hi] : *p.bounds) bounds.push_back({lo, hi});
        out["bounds"] = bounds;
    }
    return out;
}

} // namespace

Channel channel_from_json(const Json& node, const std::string& source,
                          const std::string& path) {
    return spec_reader::parse_channel(spec_reader::Validator<Json>(source), node,
                                      spec_reader::Path(&path));
}
Sample sample_from_json(const Json& node, const std::string& source,
                        const std::string& path) {
    return spec_reader::parse_sample(spec_reader::Validator<Json>(source), node,
                                     spec_reader::Path(&path));
}
Modifier modifier_from_json(const Json& node, const std::string& source,
                            const std::string& path) {
    return spec_reader::parse_modifier(spec_reader::Validator<Json>(source), node,
                                       spec_reader::Path(&path));
}
Observation observation_from_json(const Json& node, const std::string& source,
                                  const std::string& path) {
    return spec_reader::parse_observation(spec_reader::Validator<Json>(source), node,
                                          spec_reader::Path(&path));
}
Measurement measurement_from_json(const Json& node, const std::string& source,
                                  const std::string& path) {
    return spec_reader::parse_measurement(spec_reader::Validator<Json>(source), node,
                                          spec_reader::Path(&path));
}
ParameterConfig parameter_from_json(const Json& node, const std::string& source,
                                    const std::string& path) {
    return spec_reader::parse_parameter(spec_reader::Validator<Json>(source), node,
                                        spec_reader::Path(&path));
}

Json workspace_to_json(const WorkspaceSpec& spec) {
    Json channels = Json::array();
    for (const auto& c : spec.channels) {
        Json samples = Json::array();
        for (const auto& s : c.samples) {
            Json mods = Json::array();
            for (const auto& m : s.modifiers) mods.push_back(modifier_to_json(m));
            samples.push_back(
                {{"name", s.name}, {"data", s.data}, {"modifiers", mods}});
        }
        channels.push_back({{"name", c.name}, {"samples", samples}});
    }
    Json measurements = Json::array();
    for (const auto& m : spec.measurements) {
        Json pars = Json::array();
        for (const auto& p : m.parameters) pars.push_back(parameter_to_json(p));
        measurements.push_back(
            {{"name", m.name}, {"config", {{"poi", m.poi}, {"parameters", pars}}}});
    }
    Json observations = Json::array();
    for (const auto& o : spec.observations) {
        observations.push_back({{"name", o.name}, {"data", o.data}});
    }
    return {{"channels", channels},
            {"measurements", measurements},
            {"observations", observations},
            {"version", spec.version}};
}

std::string describe(const Json& value) {
    switch (value.type()) {
    case Json::value_t::null:
        return "null";
    case Json::value_t::boolean:
        return value.get<bool>() ? "true" : "false";
    case Json::value_t::string: {
        std::string s = value.get<std::string>();
        if (s.size() > 40) s = s.substr(0, 37) + "...";
        return "string \"" + s + "\"";
    }
    case Json::value_t::array:
        return "an array of " + std::to_string(value.size()) + " item(s)";
    case Json::value_t::object:
        return "an object";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
        return "number " + value.dump();
    default:
        return "a value of another type";
    }
}

namespace {

// Messages quote the input: bytes that are not printable ASCII become \xNN, so that a
// message about a file in another encoding is itself valid text.
std::string printable(std::string_view text) {
    std::string out;
    for (const unsigned char c : text) {
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}

// Workspaces and patchsets nest about ten levels deep. Far deeper documents are
// refused before parsing: serializing them (messages, patch values) recurses once per
// level and would overflow the stack.
constexpr int kMaxJsonDepth = 512;

void check_depth(std::string_view text, const std::string& source) {
    int depth = 0;
    bool in_string = false;
    std::size_t line = 1;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        line += c == '\n';
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) {
                throw InvalidSpec(source + ":" + std::to_string(line) +
                                  ": JSON nested more than " +
                                  std::to_string(kMaxJsonDepth) + " levels deep");
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
}

} // namespace

Json parse_json_text(std::string_view text, const std::string& source) {
    const auto starts = [&](std::string_view bom) { return text.starts_with(bom); };
    if (starts("\xff\xfe") || starts("\xfe\xff") || text.find('\0') != text.npos) {
        throw InvalidSpec(source + ": not UTF-8 text (UTF-16 or binary?); save it as "
                                   "UTF-8 JSON");
    }
    check_depth(text, source);
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
        // Convert the byte offset into a line number for humans.
        std::size_t line = 1;
        for (std::size_t i = 0; i < e.byte && i < text.size(); ++i) {
            line += text[i] == '\n';
        }
        std::string what = e.what();
        const auto pos = what.find("syntax error");
        throw InvalidSpec(
            source + ":" + std::to_string(line) + ": invalid JSON: " +
            printable(pos == std::string::npos ? what : what.substr(pos)));
    } catch (const Json::out_of_range& e) {
        throw InvalidSpec(source + ": a number beyond the range of a double (" +
                          printable(e.what()) + ")");
    } catch (const Json::exception& e) {
        throw InvalidSpec(source + ": invalid JSON: " + printable(e.what()));
    }
}

Json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InvalidSpec(path + ": cannot open file");
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return parse_json_text(buffer.str(), path);
}

WorkspaceSpec workspace_from_json(const Json& doc, const std::string& source) {
    return spec_reader::read_workspace(doc, source);
}

} // namespace hifit
