#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

#include "histfactory/documents.hpp"
#include "histfactory/sha256.hpp"

namespace hifit {

namespace {

[[noreturn]] void schema_error(const std::string& source, const std::string& path,
                               const std::string& expected, const Json& found) {
    throw InvalidSpec(source + ": " + path + ": expected " + expected + ", found " +
                      describe(found));
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
    if (!j.is_object() || !j.contains("patches") || !j.contains("metadata")) {
        schema_error(source, "/", "a patchset object with \"metadata\" and \"patches\"",
                     j);
    }
    const Json& labels = j["metadata"].value("labels", Json::array());
    for (std::size_t i = 0; i < labels.size(); ++i) {
        ps.labels_.push_back(labels[i].is_string() ? labels[i].get<std::string>() : "");
    }
    const Json& patches = j["patches"];
    if (!patches.is_array() || patches.empty()) {
        schema_error(source, "/patches", "a non-empty array", patches);
    }
    for (std::size_t i = 0; i < patches.size(); ++i) {
        const std::string path = "/patches/" + std::to_string(i);
        const Json& p = patches[i];
        if (!p.is_object() || !p.contains("metadata") || !p.contains("patch")) {
            schema_error(source, path, "an object with \"metadata\" and \"patch\"", p);
        }
        const Json& name = p["metadata"].value("name", Json());
        if (!name.is_string()) {
            schema_error(source, path + "/metadata/name", "a string", name);
        }
        if (!p["patch"].is_array()) {
            schema_error(source, path + "/patch", "an array of operations", p["patch"]);
        }
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
