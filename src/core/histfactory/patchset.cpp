#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

#include "histfactory/documents.hpp"
#include "histfactory/sha256.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace hifit {

namespace {

[[noreturn]] void schema_error(const std::string& source, const std::string& path,
                               const std::string& expected, const Json& found) {
    throw InvalidSpec(source + ": " + path + ": expected " + expected + ", found " +
                      describe(found));
}

// pyhf's patterns: names and labels ^[a-zA-Z0-9_]+$, hex digests of a fixed length.
bool is_identifier(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '_';
    });
}

bool is_hex(const std::string& s, std::size_t length, bool upper_ok) {
    return s.size() == length && std::all_of(s.begin(), s.end(), [&](unsigned char c) {
               return std::isdigit(c) != 0 || (c >= 'a' && c <= 'f') ||
                      (upper_ok && c >= 'A' && c <= 'F');
           });
}

// The object `j` at `path` has the `required` keys and, unless `open`, no others.
void keys(const std::string& source, const std::string& path, const Json& j,
          std::initializer_list<const char*> required,
          std::initializer_list<const char*> optional, bool open) {
    std::string allowed;
    for (auto list : {required, optional})
        for (const char* k : list)
            allowed += (allowed.empty() ? "" : ", ") + std::string(k);
    if (!j.is_object()) schema_error(source, path, "an object (" + allowed + ")", j);
    for (const char* k : required)
        if (!j.contains(k))
            throw InvalidSpec(source + ": " + path + ": missing required key \"" + k +
                              "\"");
    if (open) return;
    for (const auto& [key, value] : j.items()) {
        bool known = false;
        for (auto list : {required, optional})
            for (const char* k : list) known = known || key == k;
        if (!known)
            throw InvalidSpec(source + ": " + path + (path == "/" ? "" : "/") + key +
                              ": unexpected key (allowed: " + allowed + ")");
    }
}

// The patchset schema of pyhf 1.0.0 (schemas/1.0.0/defs.json#/definitions/patchset),
// which pyhf.PatchSet validates before anything else.
void validate_metadata(const std::string& source, const Json& meta) {
    keys(source, "/metadata", meta, {"references", "digests", "labels", "description"},
         {}, true);
    const Json& refs = meta["references"];
    keys(source, "/metadata/references", refs, {}, {"hepdata"}, false);
    if (refs.empty())
        schema_error(source, "/metadata/references", "at least one reference", refs);
    if (refs.contains("hepdata")) {
        const Json& ins = refs["hepdata"];
        const std::string id = ins.is_string() ? ins.get<std::string>() : "";
        if (id.size() != 10 || id.rfind("ins", 0) != 0 ||
            !std::all_of(id.begin() + 3, id.end(),
                         [](unsigned char c) { return std::isdigit(c) != 0; }))
            schema_error(source, "/metadata/references/hepdata",
                         "an INSPIRE id \"ins\" + 7 digits", ins);
    }
    const Json& digests = meta["digests"];
    keys(source, "/metadata/digests", digests, {}, {"md5", "sha256"}, false);
    if (digests.empty())
        schema_error(source, "/metadata/digests", "at least one digest", digests);
    if (digests.contains("md5") &&
        !(digests["md5"].is_string() &&
          is_hex(digests["md5"].get<std::string>(), 32, false)))
        schema_error(source, "/metadata/digests/md5", "32 lowercase hex digits",
                     digests["md5"]);
    if (digests.contains("sha256") &&
        !(digests["sha256"].is_string() &&
          is_hex(digests["sha256"].get<std::string>(), 64, true)))
        schema_error(source, "/metadata/digests/sha256", "64 hex digits",
                     digests["sha256"]);
    const Json& labels = meta["labels"];
    if (!labels.is_array() || labels.empty())
        schema_error(source, "/metadata/labels", "a non-empty array of labels", labels);
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (!labels[i].is_string() || !is_identifier(labels[i].get<std::string>()))
            schema_error(source, "/metadata/labels/" + std::to_string(i),
                         "a non-empty label of letters, digits and '_'", labels[i]);
    if (!meta["description"].is_string())
        schema_error(source, "/metadata/description", "a string", meta["description"]);
}

// One JSON-patch operation, as the schema's oneOf: add/replace/test need "value",
// move/copy need "from", remove neither.
void validate_operation(const std::string& source, const std::string& path,
                        const Json& op) {
    keys(source, path, op, {"op", "path"}, {}, true);
    if (!op["path"].is_string())
        schema_error(source, path + "/path", "a string", op["path"]);
    const Json& name = op["op"];
    const std::string kind = name.is_string() ? name.get<std::string>() : "";
    if (kind == "add" || kind == "replace" || kind == "test") {
        if (!op.contains("value"))
            throw InvalidSpec(source + ": " + path +
                              ": missing required key \"value\"");
    } else if (kind == "move" || kind == "copy") {
        if (!op.contains("from") || !op["from"].is_string())
            schema_error(source, path + "/from", "a JSON pointer string",
                         op.value("from", Json()));
    } else if (kind != "remove") {
        schema_error(source, path + "/op",
                     "one of add, remove, replace, move, copy, test", name);
    }
}

} // namespace

PatchSet PatchSet::from_json(std::string_view text, const std::string& source) {
    return from_document(
        std::make_shared<Document>(Document{parse_json_text(text, source)}), source);
}

PatchSet PatchSet::load(const std::string& path) {
    return from_document(std::make_shared<Document>(Document{read_json_file(path)}),
                         path);
}

PatchSet PatchSet::from_document(std::shared_ptr<Document> doc,
                                 const std::string& source) {
    PatchSet ps;
    ps.source_ = source;
    const Json& j = doc->json;
    keys(source, "/", j, {"patches", "metadata", "version"}, {}, false);
    if (!(j["version"].is_string() && j["version"].get<std::string>() == "1.0.0"))
        schema_error(source, "/version", "\"1.0.0\" (the patchset version pyhf reads)",
                     j["version"]);
    validate_metadata(source, j["metadata"]);
    const Json& labels = j["metadata"]["labels"];
    for (std::size_t i = 0; i < labels.size(); ++i) {
        ps.labels_.push_back(labels[i].get<std::string>());
    }
    const Json& patches = j["patches"];
    if (!patches.is_array() || patches.empty()) {
        schema_error(source, "/patches", "a non-empty array", patches);
    }
    std::vector<const Json*> values_seen;
    for (std::size_t i = 0; i < patches.size(); ++i) {
        const std::string path = "/patches/" + std::to_string(i);
        const Json& p = patches[i];
        keys(source, path, p, {"metadata", "patch"}, {}, false);
        keys(source, path + "/metadata", p["metadata"], {"name", "values"}, {}, true);
        const Json& name = p["metadata"]["name"];
        if (!name.is_string() || !is_identifier(name.get<std::string>())) {
            schema_error(source, path + "/metadata/name",
                         "a non-empty name of letters, digits and '_'", name);
        }
        const Json& values = p["metadata"]["values"];
        if (!values.is_array())
            schema_error(source, path + "/metadata/values", "an array", values);
        for (std::size_t k = 0; k < values.size(); ++k)
            if (!values[k].is_number() && !values[k].is_string())
                schema_error(source, path + "/metadata/values/" + std::to_string(k),
                             "a number or a string", values[k]);
        if (values.size() != labels.size())
            throw InvalidSpec(source + ": " + path + "/metadata/values: expected " +
                              std::to_string(labels.size()) +
                              " value(s), one per label, found " +
                              std::to_string(values.size()));
        for (const Json* other : values_seen)
            if (*other == values)
                throw InvalidSpec(source + ": " + path +
                                  "/metadata/values: another patch has the values " +
                                  values.dump());
        values_seen.push_back(&values);
        if (!p["patch"].is_array()) {
            schema_error(source, path + "/patch", "an array of operations", p["patch"]);
        }
        for (std::size_t k = 0; k < p["patch"].size(); ++k)
            validate_operation(source, path + "/patch/" + std::to_string(k),
                               p["patch"][k]);
        for (const auto& existing : ps.names_) {
            if (existing == name.get<std::string>()) {
                throw InvalidSpec(source + ": " + path +
                                  "/metadata/name: duplicate patch name \"" + existing +
                                  "\"");
            }
        }
        ps.names_.push_back(name.get<std::string>());
    }
    ps.doc_ = std::move(doc);
    return ps;
}

std::size_t PatchSet::index_of(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
        if (names_[i] == name) {
            return i;
        }
    }
    throw InvalidPatch(source_ + ": no patch named \"" + std::string(name) + "\" (" +
                       std::to_string(names_.size()) + " patches, e.g. \"" +
                       names_.front() + "\")");
}

std::string PatchSet::values_json(std::size_t index) const {
    return doc_->json["patches"][index]["metadata"]
        .value("values", Json::array())
        .dump();
}

std::string PatchSet::description() const {
    return doc_->json["metadata"].value("description", std::string());
}

std::string PatchSet::patch_json(std::string_view name) const {
    return doc_->json["patches"][index_of(name)]["patch"].dump();
}

std::vector<std::pair<std::string, std::string>> PatchSet::digests() const {
    std::vector<std::pair<std::string, std::string>> out;
    const Json& digests = doc_->json["metadata"].value("digests", Json::object());
    if (!digests.is_object()) {
        schema_error(source_, "/metadata/digests", "an object", digests);
    }
    for (const auto& [alg, value] : digests.items()) {
        if (!value.is_string()) {
            schema_error(source_, "/metadata/digests/" + alg, "a string", value);
        }
        out.emplace_back(alg, value.get<std::string>());
    }
    return out;
}

std::string PatchSet::metadata_json() const {
    return doc_->json["metadata"].dump();
}

void PatchSet::verify(const Workspace& workspace) const {
    for (const auto& [alg, expected] : digests()) {
        if (alg != "sha256") continue;
        const std::string got = sha256_hex(workspace.canonical_json());
        if (got != expected) {
            throw InvalidPatch("The digest verification failed for hash algorithm '" +
                               alg + "'. Expected: " + expected + ". Got: " + got);
        }
    }
}

Workspace PatchSet::apply(const Workspace& workspace, std::string_view name) const {
    const Json& ops = doc_->json["patches"][index_of(name)]["patch"];
    return workspace.apply_ops(Workspace::PatchOps{ops},
                               source_ + "#" + std::string(name));
}

} // namespace hifit
