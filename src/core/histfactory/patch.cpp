#include "histfactory/patch.hpp"

#include <hifit/errors.hpp>

#include <charconv>
#include <optional>

namespace hifit {

namespace {

// RFC 6901 pointer tokens, unescaped.
std::vector<std::string> tokens_of(const std::string& pointer) {
    std::vector<std::string> out;
    if (pointer.empty() || pointer[0] != '/') return out;
    std::string token;
    for (std::size_t i = 1; i <= pointer.size(); ++i) {
        if (i == pointer.size() || pointer[i] == '/') {
            out.push_back(token);
            token.clear();
        } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
            token += pointer[i + 1] == '1' ? '/' : '~';
            ++i;
        } else {
            token += pointer[i];
        }
    }
    return out;
}

// An array index token ("-" means one past the end), or nothing if not an index.
std::optional<std::size_t> index_of(const std::string& token, std::size_t size) {
    if (token == "-") return size;
    std::size_t value = 0;
    const auto [end, ec] =
        std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || end != token.data() + token.size() || token.empty()) {
        return std::nullopt;
    }
    return value;
}

struct Operation {
    std::string op;
    std::vector<std::string> path;
    const Json* value = nullptr;
    std::string where; // "<source>: /<index>" for messages
};

bool supported_path(const std::vector<std::string>& t) {
    switch (t.size()) {
    case 2:
        return t[0] == "channels" || t[0] == "observations" || t[0] == "measurements";
    case 4:
        return t[0] == "channels" && t[2] == "samples";
    case 5:
        return t[0] == "measurements" && t[2] == "config" && t[3] == "parameters";
    case 6:
        return t[0] == "channels" && t[2] == "samples" && t[4] == "modifiers";
    default:
        return false;
    }
}

// add / remove / replace of one element of `list` at index token `token`.
template <class T, class Parse>
void edit(std::vector<T>& list, const std::string& token, const Operation& op,
          Parse parse) {
    const auto index = index_of(token, list.size());
    const bool append_ok = op.op == "add";
    if (!index || *index > list.size() || (!append_ok && *index == list.size())) {
        throw InvalidPatch(op.where + ": index \"" + token +
                           "\" is out of range (the array has " +
                           std::to_string(list.size()) + " items)");
    }
    if (op.op == "remove") {
        list.erase(list.begin() + static_cast<std::ptrdiff_t>(*index));
        return;
    }
    T element = parse(*op.value, op.where + "/value");
    if (op.op == "add") {
        list.insert(list.begin() + static_cast<std::ptrdiff_t>(*index),
                    std::move(element));
    } else {
        list[*index] = std::move(element);
    }
}

// The element list a path's parent points to, then edits it.
void apply(WorkspaceSpec& spec, const Operation& op, const std::string& source) {
    const auto& t = op.path;
    auto at = [&](auto& list, const std::string& token) -> auto& {
        const auto i = index_of(token, list.size());
        if (!i || *i >= list.size()) {
            throw InvalidPatch(op.where + ": index \"" + token +
                               "\" is out of range (the array has " +
                               std::to_string(list.size()) + " items)");
        }
        return list[*i];
    };
    auto parser = [&](auto fn) {
        return [&, fn](const Json& node, const std::string& path) {
            return fn(node, source, path);
        };
    };
    if (t.size() == 2 && t[0] == "channels") {
        edit(spec.channels, t[1], op, parser(channel_from_json));
    } else if (t.size() == 2 && t[0] == "observations") {
        edit(spec.observations, t[1], op, parser(observation_from_json));
    } else if (t.size() == 2) {
        edit(spec.measurements, t[1], op, parser(measurement_from_json));
    } else if (t.size() == 4) {
        edit(at(spec.channels, t[1]).samples, t[3], op, parser(sample_from_json));
    } else if (t.size() == 5) {
        edit(at(spec.measurements, t[1]).parameters, t[4], op,
             parser(parameter_from_json));
    } else {
        edit(at(at(spec.channels, t[1]).samples, t[3]).modifiers, t[5], op,
             parser(modifier_from_json));
    }
}

} // namespace

bool patch_spec(WorkspaceSpec& spec, const Json& patch, const std::string& source) {
    std::vector<Operation> ops;
    for (std::size_t i = 0; i < patch.size(); ++i) {
        const Json& node = patch[i];
        if (!node.is_object() || !node.contains("op") || !node["op"].is_string() ||
            !node.contains("path") || !node["path"].is_string()) {
            return false; // let the generic path report the malformed operation
        }
        Operation op{node["op"].get<std::string>(),
                     tokens_of(node["path"].get<std::string>()), nullptr,
                     source + ": /" + std::to_string(i)};
        if (op.op != "add" && op.op != "remove" && op.op != "replace") return false;
        if (!supported_path(op.path)) return false;
        if (op.op != "remove") {
            if (!node.contains("value")) return false;
            op.value = &node["value"];
        }
        ops.push_back(std::move(op));
    }
    for (const Operation& op : ops) apply(spec, op, source);
    return true;
}

} // namespace hifit
