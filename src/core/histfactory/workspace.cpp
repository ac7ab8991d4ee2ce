#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

#include "histfactory/documents.hpp"
#include "histfactory/patch.hpp"

#include <algorithm>
#include <sstream>

namespace hifit {

Workspace::Workspace(std::shared_ptr<const WorkspaceSpec> spec,
                     std::shared_ptr<const Document> doc, std::string source)
    : doc_(std::move(doc)), spec_(std::move(spec)), source_(std::move(source)) {}

Workspace Workspace::from_document(std::shared_ptr<const Document> doc,
                                   std::string source) {
    auto spec =
        std::make_shared<const WorkspaceSpec>(workspace_from_json(doc->json, source));
    return Workspace(std::move(spec), std::move(doc), std::move(source));
}

Workspace Workspace::from_spec(WorkspaceSpec spec, const std::string& source) {
    return Workspace(std::make_shared<const WorkspaceSpec>(std::move(spec)), nullptr,
                     source);
}

Workspace Workspace::from_json(std::string_view text, const std::string& source) {
    return from_document(
        std::make_shared<const Document>(Document{parse_json_text(text, source)}),
        source);
}

Workspace Workspace::load(const std::string& path) {
    return from_document(
        std::make_shared<const Document>(Document{read_json_file(path)}), path);
}

Workspace Workspace::apply_patch(std::string_view patch_json,
                                 const std::string& patch_source) const {
    const Json patch = parse_json_text(patch_json, patch_source);
    return apply_ops(PatchOps{patch}, patch_source);
}

Workspace Workspace::apply_ops(const PatchOps& ops,
                               const std::string& patch_source) const {
    const Json& patch = ops.json;
    if (!patch.is_array()) {
        throw InvalidPatch(patch_source +
                           ": expected a JSON patch (an array of operations), found " +
                           describe(patch));
    }
    const std::string source = source_ + " + " + patch_source;
    // Fast path: element-wise edits of the typed spec (what signal patches do).
    WorkspaceSpec spec = *spec_;
    if (patch_spec(spec, patch, patch_source)) {
        return Workspace(std::make_shared<const WorkspaceSpec>(std::move(spec)),
                         nullptr, source);
    }
    Json patched;
    try {
        patched = (doc_ ? doc_->json : workspace_to_json(*spec_)).patch(patch);
    } catch (const Json::exception& e) {
        throw InvalidPatch(patch_source + ": cannot apply to " + source_ + ": " +
                           e.what());
    }
    return from_document(std::make_shared<const Document>(Document{std::move(patched)}),
                         source);
}

std::string Workspace::to_json(int indent) const {
    return (doc_ ? doc_->json : workspace_to_json(*spec_)).dump(indent);
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

namespace {

// Samples may have negative yields (pyhf keeps them), but where their nominal yields
// sum to a negative number and events are observed there is no Poisson likelihood:
// pyhf's is NaN and every fit fails.
void check_nominal_totals(const WorkspaceSpec& spec) {
    for (const auto& c : spec.channels) {
        auto obs = std::find_if(spec.observations.begin(), spec.observations.end(),
                                [&](const Observation& o) { return o.name == c.name; });
        if (obs == spec.observations.end()) continue; // Model::data reports it
        for (std::size_t b = 0; b < obs->data.size(); ++b) {
            double total = 0.0;
            for (const auto& s : c.samples)
                total += b < s.data.size() ? s.data[b] : 0.0;
            if (obs->data[b] > 0.0 && total < 0.0) {
                std::ostringstream msg;
                msg << "channel \"" << c.name << "\", bin " << b
                    << ": the samples' nominal yields sum to " << total << " with "
                    << obs->data[b]
                    << " observed events; expected a total >= 0 where events are "
                       "observed";
                throw InvalidModel(msg.str());
            }
        }
    }
}

} // namespace

std::vector<double> Workspace::data(const Model& model, bool include_auxdata) const {
    try {
        auto out = model.data(spec_->observations, include_auxdata);
        check_nominal_totals(*spec_);
        return out;
    } catch (const InvalidModel& e) {
        throw InvalidModel(source_ + ": " + e.what());
    }
}

} // namespace hifit
