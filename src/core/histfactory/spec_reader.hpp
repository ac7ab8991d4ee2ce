// Reading a workspace document into the typed spec, with schema validation that names
// the JSON path of every error. Templated on the document node type: nlohmann::json
// (files, text) or a view of Python objects (the bindings), which provide the same
// small interface (is_object, contains, operator[], items, is_string, get<T>,
// is_number, is_array, size, is_null, is_boolean) and a describe(node) overload.
#pragma once

#include <hifit/errors.hpp>
#include <hifit/histfactory/spec.hpp>

#include <array>
#include <initializer_list>
#include <string>
#include <vector>

namespace hifit::spec_reader {

// A JSON pointer built lazily: each level refers to its parent, and the text is only
// rendered when an error is reported.
class Path {
  public:
    explicit Path(const std::string* prefix = nullptr) : prefix_(prefix) {}
    Path operator/(const char* key) const { return Path(this, key, 0); }
    Path operator/(std::size_t index) const { return Path(this, nullptr, index); }
    std::string str() const {
        std::string out;
        append_to(out);
        return out.empty() ? "/" : out;
    }

  private:
    Path(const Path* parent, const char* key, std::size_t index)
        : parent_(parent), key_(key), index_(index) {}
    void append_to(std::string& out) const {
        if (!parent_) {
            if (prefix_) out += *prefix_;
            return;
        }
        parent_->append_to(out);
        out += '/';
        out += key_ ? std::string(key_) : std::to_string(index_);
    }
    const Path* parent_ = nullptr;
    const std::string* prefix_ = nullptr;
    const char* key_ = nullptr;
    std::size_t index_ = 0;
};

// Walks a document while remembering the JSON pointer of the current node, so every
// error says where it is.
template <class Node> class Validator {
  public:
    explicit Validator(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const Path& path, const std::string& expected,
                           const Node& found) const {
        throw InvalidSpec(source_ + ": " + path.str() + ": expected " + expected +
                          ", found " + describe(found));
    }

    void object(const Node& node, const Path& path,
                std::initializer_list<const char*> required,
                std::initializer_list<const char*> optional) const {
        if (!node.is_object()) {
            fail(path, "an object", node);
        }
        for (const char* key : required) {
            if (!node.contains(key)) {
                throw InvalidSpec(source_ + ": " + path.str() +
                                  ": missing required key \"" + key + "\"");
            }
        }
        for (const auto& [key, value] : node.items()) {
            bool known = false;
            for (const char* k : required) known = known || key == k;
            for (const char* k : optional) known = known || key == k;
            if (!known) {
                throw InvalidSpec(
                    source_ + ": " + (path / std::string(key).c_str()).str() +
                    ": unexpected key (allowed: " + join(required, optional) + ")");
            }
        }
    }

    std::string string(const Node& node, const Path& path) const {
        if (!node.is_string()) {
            fail(path, "a string", node);
        }
        return node.template get<std::string>();
    }

    double number(const Node& node, const Path& path) const {
        if (!node.is_number()) {
            fail(path, "a number", node);
        }
        return node.template get<double>();
    }

    void array(const Node& node, const Path& path, std::size_t min_items) const {
        if (!node.is_array()) {
            fail(path, "an array", node);
        }
        if (node.size() < min_items) {
            fail(path,
                 "an array with at least " + std::to_string(min_items) + " item(s)",
                 node);
        }
    }

    std::vector<double> numbers(const Node& node, const Path& path) const {
        array(node, path, 1);
        std::vector<double> out;
        out.reserve(node.size());
        for (std::size_t i = 0; i < node.size(); ++i) {
            // The element path is only built when reporting an error.
            if (!node[i].is_number()) fail(path / i, "a number", node[i]);
            out.push_back(node[i].template get<double>());
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

template <class Node>
ModifierType modifier_type(const Validator<Node>& v, const Node& node,
                           const Path& path) {
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

template <class Node>
Modifier parse_modifier(const Validator<Node>& v, const Node& node, const Path& path) {
    v.object(node, path, {"name", "type", "data"}, {});
    Modifier m;
    m.name = v.string(node["name"], path / "name");
    m.type = modifier_type(v, node["type"], path / "type");
    const Node& data = node["data"];
    const Path dpath = path / "data";
    switch (m.type) {
    case ModifierType::normfactor:
    case ModifierType::shapefactor:
    case ModifierType::lumi:
        if (!data.is_null()) {
            v.fail(dpath, "null", data);
        }
        if (m.type == ModifierType::lumi && m.name != "lumi") {
            v.fail(path / "name", "\"lumi\" (the only name a lumi modifier may have)",
                   node["name"]);
        }
        break;
    case ModifierType::normsys:
        v.object(data, dpath, {"hi", "lo"}, {});
        m.hi = v.number(data["hi"], dpath / "hi");
        m.lo = v.number(data["lo"], dpath / "lo");
        break;
    case ModifierType::histosys:
        v.object(data, dpath, {"hi_data", "lo_data"}, {});
        m.hi_data = v.numbers(data["hi_data"], dpath / "hi_data");
        m.lo_data = v.numbers(data["lo_data"], dpath / "lo_data");
        break;
    case ModifierType::shapesys:
    case ModifierType::staterror:
        m.data = v.numbers(data, dpath);
        break;
    }
    return m;
}

template <class Node>
Sample parse_sample(const Validator<Node>& v, const Node& node, const Path& path) {
    v.object(node, path, {"name", "data", "modifiers"}, {});
    Sample s;
    s.name = v.string(node["name"], path / "name");
    s.data = v.numbers(node["data"], path / "data");
    const auto& mods = node["modifiers"];
    v.array(mods, path / "modifiers", 0);
    for (std::size_t i = 0; i < mods.size(); ++i) {
        s.modifiers.push_back(parse_modifier(v, mods[i], path / "modifiers" / i));
    }
    return s;
}

template <class Node>
Channel parse_channel(const Validator<Node>& v, const Node& node, const Path& path) {
    v.object(node, path, {"name", "samples"}, {});
    Channel c;
    c.name = v.string(node["name"], path / "name");
    const auto& samples = node["samples"];
    v.array(samples, path / "samples", 1);
    for (std::size_t i = 0; i < samples.size(); ++i) {
        c.samples.push_back(parse_sample(v, samples[i], path / "samples" / i));
    }
    return c;
}

template <class Node>
ParameterConfig parse_parameter(const Validator<Node>& v, const Node& node,
                                const Path& path) {
    v.object(node, path, {"name"},
             {"inits", "bounds", "auxdata", "factors", "sigmas", "fixed"});
    ParameterConfig p;
    p.name = v.string(node["name"], path / "name");
    if (node.contains("inits")) p.inits = v.numbers(node["inits"], path / "inits");
    if (node.contains("auxdata"))
        p.auxdata = v.numbers(node["auxdata"], path / "auxdata");
    if (node.contains("factors"))
        p.factors = v.numbers(node["factors"], path / "factors");
    if (node.contains("sigmas")) p.sigmas = v.numbers(node["sigmas"], path / "sigmas");
    if (node.contains("fixed")) {
        if (!node["fixed"].is_boolean()) {
            v.fail(path / "fixed", "a boolean", node["fixed"]);
        }
        p.fixed = node["fixed"].template get<bool>();
    }
    if (node.contains("bounds")) {
        const Path bpath = path / "bounds";
        const auto& bounds = node["bounds"];
        v.array(bounds, bpath, 1);
        std::vector<std::pair<double, double>> out;
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            const Path ipath = bpath / i;
            const auto& pair = bounds[i];
            v.array(pair, ipath, 2);
            if (pair.size() != 2) {
                v.fail(ipath, "a [low, high] pair", pair);
            }
            out.emplace_back(v.number(pair[std::size_t{0}], ipath / std::size_t{0}),
                             v.number(pair[std::size_t{1}], ipath / std::size_t{1}));
        }
        p.bounds = std::move(out);
    }
    return p;
}

template <class Node>
Measurement parse_measurement(const Validator<Node>& v, const Node& node,
                              const Path& path) {
    v.object(node, path, {"name", "config"}, {});
    Measurement m;
    m.name = v.string(node["name"], path / "name");
    const Node& config = node["config"];
    const Path cpath = path / "config";
    v.object(config, cpath, {"poi", "parameters"}, {});
    m.poi = v.string(config["poi"], cpath / "poi");
    const auto& pars = config["parameters"];
    v.array(pars, cpath / "parameters", 0);
    for (std::size_t i = 0; i < pars.size(); ++i) {
        m.parameters.push_back(parse_parameter(v, pars[i], cpath / "parameters" / i));
    }
    return m;
}

template <class Node>
Observation parse_observation(const Validator<Node>& v, const Node& node,
                              const Path& path) {
    v.object(node, path, {"name", "data"}, {});
    return {v.string(node["name"], path / "name"),
            v.numbers(node["data"], path / "data")};
}

template <class Node>
WorkspaceSpec read_workspace(const Node& doc, const std::string& source) {
    const Validator<Node> v(source);
    const Path root;
    v.object(doc, root, {"channels", "measurements", "observations", "version"}, {});
    WorkspaceSpec ws;
    ws.version = v.string(doc["version"], root / "version");
    if (ws.version != "1.0.0") {
        v.fail(root / "version", "\"1.0.0\" (the only pyhf schema version)",
               doc["version"]);
    }
    const auto& channels = doc["channels"];
    v.array(channels, root / "channels", 1);
    for (std::size_t i = 0; i < channels.size(); ++i) {
        ws.channels.push_back(parse_channel(v, channels[i], root / "channels" / i));
    }
    const auto& meas = doc["measurements"];
    v.array(meas, root / "measurements", 1);
    for (std::size_t i = 0; i < meas.size(); ++i) {
        ws.measurements.push_back(
            parse_measurement(v, meas[i], root / "measurements" / i));
    }
    const auto& obs = doc["observations"];
    v.array(obs, root / "observations", 1);
    for (std::size_t i = 0; i < obs.size(); ++i) {
        ws.observations.push_back(
            parse_observation(v, obs[i], root / "observations" / i));
    }
    return ws;
}

} // namespace hifit::spec_reader
