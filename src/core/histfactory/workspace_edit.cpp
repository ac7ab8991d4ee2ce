// pyhf's document operations on workspaces: prune, rename, sorted, combine, digest.
// They work on the JSON document (not the typed spec) so that every key pyhf keeps
// is kept, and follow pyhf 0.7's workspace.py rule for rule.
#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

#include "histfactory/documents.hpp"
#include "histfactory/sha256.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace hifit {

namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string renamed(const std::vector<std::pair<std::string, std::string>>& map,
                    const std::string& name) {
    // pyhf builds a dict from the pairs: the last pair for a name wins.
    std::string out = name;
    for (const auto& [from, to] : map) {
        if (from == name) out = to;
    }
    return out;
}

std::string name_of(const Json& item) {
    return item.at("name").get<std::string>();
}

// Items of `names` must all be in `known`; pyhf's InvalidWorkspaceOperation.
template <class Names>
void require_known(const Names& names, const std::set<std::string>& known,
                   const std::string& what) {
    for (const auto& name : names) {
        if (!known.contains(name)) {
            throw InvalidArgument(name + " is not one of the " + what +
                                  " in this workspace.");
        }
    }
}

std::vector<std::string>
keys_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::vector<std::string> out;
    for (const auto& p : pairs) out.push_back(p.first);
    return out;
}

// pyhf's _join_items: whole items joined by name, optionally merging one level deeper.
Json join_items(WorkspaceJoin join, const Json& left, const Json& right,
                const char* deep_merge_key = nullptr) {
    const bool right_outer = join == WorkspaceJoin::right_outer;
    const Json& primary = right_outer ? right : left;
    const Json& secondary = right_outer ? left : right;
    Json joined = primary;
    std::vector<std::string> keys;
    for (const auto& item : joined) keys.push_back(name_of(item));
    for (const auto& item : secondary) {
        const std::string name = name_of(item);
        const auto at = std::find(keys.begin(), keys.end(), name);
        if (at != keys.end() && deep_merge_key != nullptr) {
            Json& target = joined[static_cast<std::size_t>(at - keys.begin())];
            target[deep_merge_key] =
                join_items(WorkspaceJoin::left_outer, target[deep_merge_key],
                           item.at(deep_merge_key));
            continue;
        }
        const bool in_primary =
            std::find(primary.begin(), primary.end(), item) != primary.end();
        if (join == WorkspaceJoin::none ||
            (join == WorkspaceJoin::outer && !in_primary) ||
            ((join == WorkspaceJoin::left_outer || right_outer) && at == keys.end())) {
            joined.push_back(item);
        }
    }
    return joined;
}

std::string join_list(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

const char* kJoinHint = ". You can also try a different join operation: none, outer, "
                        "left outer, right outer.";

// Names appearing in both lists (join "none") or twice in the joined list ("outer").
void check_join(WorkspaceJoin join, const Json& left, const Json& right,
                const Json& joined, const std::string& what) {
    std::vector<std::string> clashes;
    if (join == WorkspaceJoin::none) {
        std::set<std::string> left_names;
        for (const auto& item : left) left_names.insert(name_of(item));
        for (const auto& item : right) {
            if (left_names.contains(name_of(item))) clashes.push_back(name_of(item));
        }
        if (!clashes.empty()) {
            throw InvalidArgument(
                "Workspaces cannot have any " + what +
                " in common with the same name: " + join_list(clashes) + kJoinHint);
        }
    } else if (join == WorkspaceJoin::outer) {
        std::map<std::string, int> counts;
        for (const auto& item : joined) {
            if (++counts[name_of(item)] == 2) clashes.push_back(name_of(item));
        }
        if (!clashes.empty()) {
            throw InvalidArgument("Workspaces cannot have " + what +
                                  " in common with incompatible structure: " +
                                  join_list(clashes) + kJoinHint);
        }
    }
}

Json join_measurements(WorkspaceJoin join, const Json& left, const Json& right) {
    Json joined = join_items(join, left, right);
    check_join(join, left, right, joined, "measurements");
    if (join != WorkspaceJoin::outer) return joined;
    // Same-named measurements merge: one POI, parameter configs joined "outer".
    std::vector<std::string> order;
    std::map<std::string, std::vector<const Json*>> by_name;
    for (const auto& m : joined) {
        const std::string name = name_of(m);
        if (!by_name.contains(name)) order.push_back(name);
        by_name[name].push_back(&m);
    }
    std::vector<std::string> bad_poi;
    for (const auto& name : order) {
        std::set<std::string> pois;
        for (const Json* m : by_name[name])
            pois.insert(m->at("config").at("poi").dump());
        if (pois.size() > 1) bad_poi.push_back(name);
    }
    if (!bad_poi.empty()) {
        throw InvalidArgument(
            "Workspaces cannot have the same measurements with incompatible POI: " +
            join_list(bad_poi) + ".");
    }
    Json merged = Json::array();
    for (const auto& name : order) {
        const auto& group = by_name[name];
        if (group.size() == 1) {
            merged.push_back(*group.front());
            continue;
        }
        const Json& lp = group[0]->at("config").at("parameters");
        const Json& rp = group[1]->at("config").at("parameters");
        Json params = join_items(WorkspaceJoin::outer, lp, rp);
        std::map<std::string, int> counts;
        std::vector<std::string> clashes;
        for (const auto& p : params) {
            if (++counts[name_of(p)] == 2) clashes.push_back(name_of(p));
        }
        if (!clashes.empty()) {
            throw InvalidArgument("Workspaces cannot have a measurement (" + name +
                                  ") with incompatible parameter configs: " +
                                  join_list(clashes) + kJoinHint);
        }
        merged.push_back({{"name", name},
                          {"config",
                           {{"poi", group[0]->at("config").at("poi")},
                            {"parameters", std::move(params)}}}});
    }
    return merged;
}

// Python's repr of a double: the shortest digits that round-trip, in fixed notation
// for decimal exponents -4..15, else d.ddde+XX. (nlohmann's Grisu2 is not always
// the shortest, so digests would differ from pyhf's.)
std::string python_float_repr(double x) {
    char buf[64];
    const auto res =
        std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    std::string sign;
    if (sci.front() == '-') {
        sign = "-";
        sci.erase(0, 1);
    }
    const auto epos = sci.find('e');
    const int exp = std::stoi(sci.substr(epos + 1));
    std::string digits = sci.substr(0, epos);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int k = static_cast<int>(digits.size());
    if (exp >= -4 && exp < 16) {
        if (exp < 0) return sign + "0." + std::string(-exp - 1, '0') + digits;
        if (k <= exp + 1) return sign + digits + std::string(exp + 1 - k, '0') + ".0";
        return sign + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
    }
    std::string mantissa = digits.substr(0, 1);
    if (k > 1) mantissa += "." + digits.substr(1);
    const int a = exp < 0 ? -exp : exp;
    return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (a < 10 ? "0" : "") +
           std::to_string(a);
}

// json.dumps(obj, sort_keys=True, ensure_ascii=False): ", " and ": " separators,
// Python's float repr. nlohmann's object keys are already sorted by code point.
void write_canonical(const Json& j, std::string& out) {
    switch (j.type()) {
    case Json::value_t::object: {
        out += '{';
        bool first = true;
        for (const auto& [key, value] : j.items()) {
            if (!first) out += ", ";
            first = false;
            out += Json(key).dump(-1, ' ', false);
            out += ": ";
            write_canonical(value, out);
        }
        out += '}';
        break;
    }
    case Json::value_t::array: {
        out += '[';
        bool first = true;
        for (const auto& value : j) {
            if (!first) out += ", ";
            first = false;
            write_canonical(value, out);
        }
        out += ']';
        break;
    }
    case Json::value_t::number_float:
        out += python_float_repr(j.get<double>());
        break;
    default:
        // Integers, strings (escaped as Python does with ensure_ascii=False), literals.
        out += j.dump(-1, ' ', false);
    }
}

} // namespace

std::shared_ptr<const Workspace::Document> Workspace::document() const {
    return doc_ ? doc_
                : std::make_shared<const Document>(Document{workspace_to_json(*spec_)});
}

std::vector<std::string> Workspace::channel_names() const {
    std::set<std::string> names;
    for (const auto& c : spec_->channels) names.insert(c.name);
    return {names.begin(), names.end()};
}

std::vector<std::string> Workspace::sample_names() const {
    std::set<std::string> names;
    for (const auto& c : spec_->channels) {
        for (const auto& s : c.samples) names.insert(s.name);
    }
    return {names.begin(), names.end()};
}

std::vector<std::pair<std::string, std::string>> Workspace::modifier_names() const {
    std::set<std::pair<std::string, std::string>> names;
    const Json& doc = document()->json;
    for (const auto& c : doc.at("channels")) {
        for (const auto& s : c.at("samples")) {
            for (const auto& m : s.at("modifiers")) {
                names.emplace(name_of(m), m.at("type").get<std::string>());
            }
        }
    }
    return {names.begin(), names.end()};
}

Workspace Workspace::prune(const PruneSelection& sel) const {
    const auto doc = document();
    const Json& ws = doc->json;
    std::set<std::string> types, modifiers, measurements;
    for (const auto& [name, type] : modifier_names()) {
        modifiers.insert(name);
        types.insert(type);
    }
    for (const auto& m : ws.at("measurements")) measurements.insert(name_of(m));
    const auto channels = channel_names();
    const auto samples = sample_names();
    require_known(sel.modifier_types, types, "modifier types");
    require_known(sel.modifiers, modifiers, "modifiers");
    require_known(sel.samples, {samples.begin(), samples.end()}, "samples");
    require_known(sel.channels, {channels.begin(), channels.end()}, "channels");
    require_known(sel.measurements, measurements, "measurements");
    Json out = ws;
    Json& chans = out["channels"];
    Json kept_channels = Json::array();
    for (auto& c : chans) {
        if (contains(sel.channels, name_of(c))) continue;
        Json kept_samples = Json::array();
        for (auto& s : c["samples"]) {
            if (contains(sel.samples, name_of(s))) continue;
            Json kept_mods = Json::array();
            for (auto& m : s["modifiers"]) {
                if (contains(sel.modifiers, name_of(m)) ||
                    contains(sel.modifier_types, m.at("type").get<std::string>())) {
                    continue;
                }
                kept_mods.push_back(m);
            }
            // pyhf rebuilds samples and channels from these keys only.
            kept_samples.push_back(
                {{"name", s["name"]}, {"data", s["data"]}, {"modifiers", kept_mods}});
        }
        kept_channels.push_back({{"name", c["name"]}, {"samples", kept_samples}});
    }
    Json kept_meas = Json::array();
    for (const auto& m : ws.at("measurements")) {
        if (contains(sel.measurements, name_of(m))) continue;
        Json params = Json::array();
        for (const auto& p : m.at("config").at("parameters")) {
            if (!contains(sel.modifiers, name_of(p))) params.push_back(p);
        }
        kept_meas.push_back(
            {{"name", m["name"]},
             {"config", {{"parameters", params}, {"poi", m["config"]["poi"]}}}});
    }
    Json kept_obs = Json::array();
    for (const auto& o : ws.at("observations")) {
        if (!contains(sel.channels, name_of(o))) kept_obs.push_back(o);
    }
    Json result = {{"channels", kept_channels},
                   {"measurements", kept_meas},
                   {"observations", kept_obs},
                   {"version", ws.at("version")}};
    return from_document(std::make_shared<const Document>(Document{std::move(result)}),
                         source_ + " (pruned)");
}

Workspace Workspace::rename(const RenameMap& names) const {
    const auto doc = document();
    const Json& ws = doc->json;
    std::set<std::string> modifiers, measurements;
    for (const auto& [name, type] : modifier_names()) modifiers.insert(name);
    for (const auto& m : ws.at("measurements")) measurements.insert(name_of(m));
    const auto channels = channel_names();
    const auto samples = sample_names();
    require_known(keys_of(names.modifiers), modifiers, "modifiers");
    require_known(keys_of(names.samples), {samples.begin(), samples.end()}, "samples");
    require_known(keys_of(names.channels), {channels.begin(), channels.end()},
                  "channels");
    require_known(keys_of(names.measurements), measurements, "measurements");
    Json chans = Json::array();
    for (const auto& c : ws.at("channels")) {
        Json samples_out = Json::array();
        for (const auto& s : c.at("samples")) {
            Json mods = Json::array();
            for (Json m : s.at("modifiers")) {
                m["name"] = renamed(names.modifiers, name_of(m));
                mods.push_back(std::move(m));
            }
            samples_out.push_back({{"name", renamed(names.samples, name_of(s))},
                                   {"data", s.at("data")},
                                   {"modifiers", std::move(mods)}});
        }
        chans.push_back({{"name", renamed(names.channels, name_of(c))},
                         {"samples", std::move(samples_out)}});
    }
    Json meas = Json::array();
    for (const auto& m : ws.at("measurements")) {
        Json params = Json::array();
        for (Json p : m.at("config").at("parameters")) {
            p["name"] = renamed(names.modifiers, name_of(p));
            params.push_back(std::move(p));
        }
        const Json& poi = m.at("config").at("poi");
        meas.push_back(
            {{"name", renamed(names.measurements, name_of(m))},
             {"config",
              {{"parameters", std::move(params)},
               {"poi", poi.is_string() ? Json(renamed(names.modifiers, poi)) : poi}}}});
    }
    Json obs = Json::array();
    for (Json o : ws.at("observations")) {
        o["name"] = renamed(names.channels, name_of(o));
        obs.push_back(std::move(o));
    }
    Json result = {{"channels", std::move(chans)},
                   {"measurements", std::move(meas)},
                   {"observations", std::move(obs)},
                   {"version", ws.at("version")}};
    return from_document(std::make_shared<const Document>(Document{std::move(result)}),
                         source_ + " (renamed)");
}

Workspace Workspace::sorted() const {
    Json ws = document()->json;
    const auto by_name = [](const Json& a, const Json& b) {
        return name_of(a) < name_of(b);
    };
    auto& chans = ws["channels"];
    std::stable_sort(chans.begin(), chans.end(), by_name);
    for (auto& c : chans) {
        auto& samples = c["samples"];
        std::stable_sort(samples.begin(), samples.end(), by_name);
        for (auto& s : samples) {
            auto& mods = s["modifiers"];
            std::stable_sort(
                mods.begin(), mods.end(), [](const Json& a, const Json& b) {
                    return std::pair(name_of(a), a.at("type").get<std::string>()) <
                           std::pair(name_of(b), b.at("type").get<std::string>());
                });
        }
    }
    auto& meas = ws["measurements"];
    std::stable_sort(meas.begin(), meas.end(), by_name);
    for (auto& m : meas) {
        auto& params = m["config"]["parameters"];
        std::stable_sort(params.begin(), params.end(), by_name);
    }
    auto& obs = ws["observations"];
    std::stable_sort(obs.begin(), obs.end(), by_name);
    return from_document(std::make_shared<const Document>(Document{std::move(ws)}),
                         source_ + " (sorted)");
}

Workspace Workspace::combine(const Workspace& left, const Workspace& right,
                             WorkspaceJoin join, bool merge_channels) {
    if (merge_channels && join == WorkspaceJoin::none) {
        throw InvalidArgument("You can only merge channels using the 'outer', 'left "
                              "outer', or 'right outer' join operations; not none");
    }
    const auto l = left.document();
    const auto r = right.document();
    const Json& lj = l->json;
    const Json& rj = r->json;
    if (lj.at("version") != rj.at("version")) {
        throw InvalidArgument("Workspaces of different versions cannot be combined: " +
                              lj.at("version").dump() +
                              " != " + rj.at("version").dump());
    }
    Json channels = join_items(join, lj.at("channels"), rj.at("channels"),
                               merge_channels ? "samples" : nullptr);
    check_join(join, lj.at("channels"), rj.at("channels"), channels, "channels");
    Json observations = join_items(join, lj.at("observations"), rj.at("observations"));
    check_join(join, lj.at("observations"), rj.at("observations"), observations,
               "observations");
    Json measurements =
        join_measurements(join, lj.at("measurements"), rj.at("measurements"));
    Json result = {{"channels", std::move(channels)},
                   {"measurements", std::move(measurements)},
                   {"observations", std::move(observations)},
                   {"version", lj.at("version")}};
    return from_document(std::make_shared<const Document>(Document{std::move(result)}),
                         left.source_ + " + " + right.source_);
}

std::string Workspace::canonical_json() const {
    std::string out;
    write_canonical(document()->json, out);
    return out;
}

std::string Workspace::sha256_digest() const {
    return sha256_hex(canonical_json());
}

} // namespace hifit
