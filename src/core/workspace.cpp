#include <hifit/errors.hpp>
#include <hifit/workspace.hpp>

#include "documents.hpp"

namespace hifit {

Workspace::Workspace(std::shared_ptr<const Document> doc, std::string source)
    : doc_(std::move(doc)), spec_(std::make_shared<const WorkspaceSpec>(
                                workspace_from_json(doc_->json, source))),
      source_(std::move(source)) {}

Workspace Workspace::from_document(std::shared_ptr<const Document> doc,
                                   std::string source) {
    return Workspace(std::move(doc), std::move(source));
}

Workspace Workspace::from_json(std::string_view text, const std::string& source) {
    return Workspace(
        std::make_shared<const Document>(Document{parse_json_text(text, source)}),
        source);
}

Workspace Workspace::load(const std::string& path) {
    return Workspace(std::make_shared<const Document>(Document{read_json_file(path)}),
                     path);
}

Workspace Workspace::apply_patch(std::string_view patch_json,
                                 const std::string& patch_source) const {
    const Json patch = parse_json_text(patch_json, patch_source);
    if (!patch.is_array()) {
        throw InvalidPatch(patch_source +
                           ": expected a JSON patch (an array of operations), found " +
                           describe(patch));
    }
    Json patched;
    try {
        patched = doc_->json.patch(patch);
    } catch (const Json::exception& e) {
        throw InvalidPatch(patch_source + ": cannot apply to " + source_ + ": " +
                           e.what());
    }
    return Workspace(std::make_shared<const Document>(Document{std::move(patched)}),
                     source_ + " + " + patch_source);
}

std::string Workspace::to_json(int indent) const {
    return doc_->json.dump(indent);
}

const Measurement& Workspace::measurement(std::string_view name) const {
    if (name.empty()) {
        return spec_->measurements.front();
    }
    for (const auto& m : spec_->measurements) {
        if (m.name == name) {
            return m;
        }
    }
    std::string known;
    for (const auto& m : spec_->measurements) {
        known += (known.empty() ? "" : ", ") + m.name;
    }
    throw InvalidArgument(source_ + ": no measurement named \"" + std::string(name) +
                          "\" (available: " + known + ")");
}

Model Workspace::model(const ModelOptions& options) const {
    ModelOptions resolved = options;
    resolved.measurement = measurement(options.measurement).name;
    try {
        return Model::compile(*spec_, resolved);
    } catch (const InvalidModel& e) {
        throw InvalidModel(source_ + ": " + e.what());
    }
}

std::vector<double> Workspace::data(const Model& model, bool include_auxdata) const {
    try {
        return model.data(spec_->observations, include_auxdata);
    } catch (const InvalidModel& e) {
        throw InvalidModel(source_ + ": " + e.what());
    }
}

} // namespace hifit
