#include "json_spec.hpp"

#include <hifit/errors.hpp>

#include <array>
#include <fstream>
#include <initializer_list>
#include <sstream>

namespace hifit {

namespace {

// Walks a document while remembering the JSON pointer of the current node, so every
// error says where it is.
class Validator {
  public:
    explicit Validator(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& expected,
                           const Json& found) const {
        throw InvalidSpec(source_ + ": " + (path.empty() ? "/" : path) + ": expected " +
                          expected + ", found " + describe(found));
    }

    void object(const Json& node, const std::string& path,
                std::initializer_list<const char*> required,
                std::initializer_list<const char*> optional) const {
        if (!node.is_object()) {
            fail(path, "an object", node);
        }
        for (const char* key : required) {
            if (!node.contains(key)) {
                throw InvalidSpec(source_ + ": " + (path.empty() ? "/" : path) +
                                  ": missing required key \"" + key + "\"");
            }
        }
        for (const auto& [key, value] : node.items()) {
            bool known = false;
            for (const char* k : required) known = known || key == k;
            for (const char* k : optional) known = known || key == k;
            if (!known) {
                throw InvalidSpec(
                    source_ + ": " + path + "/" + key +
                    ": unexpected key (allowed: " + join(required, optional) + ")");
            }
        }
    }

    std::string string(const Json& node, const std::string& path) const {
        if (!node.is_string()) {
            fail(path, "a string", node);
        }
        return node.get<std::string>();
    }

    double number(const Json& node, const std::string& path) const {
        if (!node.is_number()) {
            fail(path, "a number", node);
        }
        return node.get<double>();
    }

    const Json& array(const Json& node, const std::string& path,
                      std::size_t min_items) const {
        if (!node.is_array()) {
            fail(path, "an array", node);
        }
        if (node.size() < min_items) {
            fail(path,
                 "an array with at least " + std::to_string(min_items) + " item(s)",
                 node);
        }
        return node;
    }

    std::vector<double> numbers(const Json& node, const std::string& path) const {
        array(node, path, 1);
        std::vector<double> out;
        out.reserve(node.size());
        for (std::size_t i = 0; i < node.size(); ++i) {
            // The element path is only built when reporting an error.
            if (!node[i].is_number())
                fail(path + "/" + std::to_string(i), "a number", node[i]);
            out.push_back(node[i].get<double>());
        }
        return out;
    }

  private:
    static std::string join(std::initializer_list<const char*> a,
                            std::initializer_list<const char*> b) {
        std::string out;
        for (auto list : {a, b}) {
            for (const char* k : list) {
                out += (out.empty() ? "" : ", ") + std::string(k);
            }
        }
        return out;
    }

    std::string source_;
};

ModifierType modifier_type(const Validator& v, const Json& node,
                           const std::string& path) {
    static constexpr std::array<std::pair<const char*, ModifierType>, 7> types{{
        {"histosys", ModifierType::histosys},
        {"lumi", ModifierType::lumi},
        {"normfactor", ModifierType::normfactor},
        {"normsys", ModifierType::normsys},
        {"shapefactor", ModifierType::shapefactor},
        {"shapesys", ModifierType::shapesys},
        {"staterror", ModifierType::staterror},
    }};
    const std::string name = v.string(node, path);
    for (const auto& [key, type] : types) {
        if (name == key) {
            return type;
        }
    }
    v.fail(
        path,
        "a modifier type (histosys, lumi, normfactor, normsys, shapefactor, shapesys, "
        "staterror)",
        node);
}

Modifier parse_modifier(const Validator& v, const Json& node, const std::string& path) {
    v.object(node, path, {"name", "type", "data"}, {});
    Modifier m;
    m.name = v.string(node["name"], path + "/name");
    m.type = modifier_type(v, node["type"], path + "/type");
    const Json& data = node["data"];
    const std::string dpath = path + "/data";
    switch (m.type) {
    case ModifierType::normfactor:
    case ModifierType::shapefactor:
    case ModifierType::lumi:
        if (!data.is_null()) {
            v.fail(dpath, "null", data);
        }
        if (m.type == ModifierType::lumi && m.name != "lumi") {
            v.fail(path + "/name", "\"lumi\" (the only name a lumi modifier may have)",
                   node["name"]);
        }
        break;
    case ModifierType::normsys:
        v.object(data, dpath, {"hi", "lo"}, {});
        m.hi = v.number(data["hi"], dpath + "/hi");
        m.lo = v.number(data["lo"], dpath + "/lo");
        break;
    case ModifierType::histosys:
        v.object(data, dpath, {"hi_data", "lo_data"}, {});
        m.hi_data = v.numbers(data["hi_data"], dpath + "/hi_data");
        m.lo_data = v.numbers(data["lo_data"], dpath + "/lo_data");
        break;
    case ModifierType::shapesys:
    case ModifierType::staterror:
        m.data = v.numbers(data, dpath);
        break;
    }
    return m;
}

Sample parse_sample(const Validator& v, const Json& node, const std::string& path) {
    v.object(node, path, {"name", "data", "modifiers"}, {});
    Sample s;
    s.name = v.string(node["name"], path + "/name");
    s.data = v.numbers(node["data"], path + "/data");
    const Json& mods = v.array(node["modifiers"], path + "/modifiers", 0);
    for (std::size_t i = 0; i < mods.size(); ++i) {
        s.modifiers.push_back(
            parse_modifier(v, mods[i], path + "/modifiers/" + std::to_string(i)));
    }
    return s;
}

Channel parse_channel(const Validator& v, const Json& node, const std::string& path) {
    v.object(node, path, {"name", "samples"}, {});
    Channel c;
    c.name = v.string(node["name"], path + "/name");
    const Json& samples = v.array(node["samples"], path + "/samples", 1);
    for (std::size_t i = 0; i < samples.size(); ++i) {
        c.samples.push_back(
            parse_sample(v, samples[i], path + "/samples/" + std::to_string(i)));
    }
    return c;
}

ParameterConfig parse_parameter(const Validator& v, const Json& node,
                                const std::string& path) {
    v.object(node, path, {"name"},
             {"inits", "bounds", "auxdata", "factors", "sigmas", "fixed"});
    ParameterConfig p;
    p.name = v.string(node["name"], path + "/name");
    if (node.contains("inits")) p.inits = v.numbers(node["inits"], path + "/inits");
    if (node.contains("auxdata"))
        p.auxdata = v.numbers(node["auxdata"], path + "/auxdata");
    if (node.contains("factors"))
        p.factors = v.numbers(node["factors"], path + "/factors");
    if (node.contains("sigmas")) p.sigmas = v.numbers(node["sigmas"], path + "/sigmas");
    if (node.contains("fixed")) {
        if (!node["fixed"].is_boolean()) {
            v.fail(path + "/fixed", "a boolean", node["fixed"]);
        }
        p.fixed = node["fixed"].get<bool>();
    }
    if (node.contains("bounds")) {
        const std::string bpath = path + "/bounds";
        const Json& bounds = v.array(node["bounds"], bpath, 1);
        std::vector<std::pair<double, double>> out;
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            const std::string ipath = bpath + "/" + std::to_string(i);
            const Json& pair = v.array(bounds[i], ipath, 2);
            if (pair.size() != 2) {
                v.fail(ipath, "a [low, high] pair", pair);
            }
            out.emplace_back(v.number(pair[0], ipath + "/0"),
                             v.number(pair[1], ipath + "/1"));
        }
        p.bounds = std::move(out);
    }
    return p;
}

Measurement parse_measurement(const Validator& v, const Json& node,
                              const std::string& path) {
    v.object(node, path, {"name", "config"}, {});
    Measurement m;
    m.name = v.string(node["name"], path + "/name");
    const Json& config = node["config"];
    const std::string cpath = path + "/config";
    v.object(config, cpath, {"poi", "parameters"}, {});
    m.poi = v.string(config["poi"], cpath + "/poi");
    const Json& pars = v.array(config["parameters"], cpath + "/parameters", 0);
    for (std::size_t i = 0; i < pars.size(); ++i) {
        m.parameters.push_back(
            parse_parameter(v, pars[i], cpath + "/parameters/" + std::to_string(i)));
    }
    return m;
}

Observation parse_observation(const Validator& v, const Json& node,
                              const std::string& path) {
    v.object(node, path, {"name", "data"}, {});
    return {v.string(node["name"], path + "/name"),
            v.numbers(node["data"], path + "/data")};
}

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
    return parse_channel(Validator(source), node, path);
}
Sample sample_from_json(const Json& node, const std::string& source,
                        const std::string& path) {
    return parse_sample(Validator(source), node, path);
}
Modifier modifier_from_json(const Json& node, const std::string& source,
                            const std::string& path) {
    return parse_modifier(Validator(source), node, path);
}
Observation observation_from_json(const Json& node, const std::string& source,
                                  const std::string& path) {
    return parse_observation(Validator(source), node, path);
}
Measurement measurement_from_json(const Json& node, const std::string& source,
                                  const std::string& path) {
    return parse_measurement(Validator(source), node, path);
}
ParameterConfig parameter_from_json(const Json& node, const std::string& source,
                                    const std::string& path) {
    return parse_parameter(Validator(source), node, path);
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

Json parse_json_text(std::string_view text, const std::string& source) {
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
        throw InvalidSpec(source + ":" + std::to_string(line) + ": invalid JSON: " +
                          (pos == std::string::npos ? what : what.substr(pos)));
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
    const Validator v(source);
    v.object(doc, "", {"channels", "measurements", "observations", "version"}, {});
    WorkspaceSpec ws;
    ws.version = v.string(doc["version"], "/version");
    if (ws.version != "1.0.0") {
        v.fail("/version", "\"1.0.0\" (the only pyhf schema version)", doc["version"]);
    }
    const Json& channels = v.array(doc["channels"], "/channels", 1);
    for (std::size_t i = 0; i < channels.size(); ++i) {
        ws.channels.push_back(
            parse_channel(v, channels[i], "/channels/" + std::to_string(i)));
    }
    const Json& meas = v.array(doc["measurements"], "/measurements", 1);
    for (std::size_t i = 0; i < meas.size(); ++i) {
        ws.measurements.push_back(
            parse_measurement(v, meas[i], "/measurements/" + std::to_string(i)));
    }
    const Json& obs = v.array(doc["observations"], "/observations", 1);
    for (std::size_t i = 0; i < obs.size(); ++i) {
        ws.observations.push_back(
            parse_observation(v, obs[i], "/observations/" + std::to_string(i)));
    }
    return ws;
}

} // namespace hifit
