// pyhf JSON workspaces and patchsets: load, validate, patch, build models.
#pragma once

#include <hifit/histfactory/spec.hpp>
#include <hifit/likelihood/model.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hifit {

// What Workspace::prune removes (names must exist in the workspace, as in pyhf).
struct PruneSelection {
    std::vector<std::string> modifiers, modifier_types, samples, channels, measurements;
};

// Old name -> new name maps for Workspace::rename (old names must exist).
struct RenameMap {
    std::vector<std::pair<std::string, std::string>> modifiers, samples, channels,
        measurements;
};

// pyhf's join operations for Workspace::combine.
enum class WorkspaceJoin { none, outer, left_outer, right_outer };

class Workspace {
  public:
    // Parses and validates a pyhf workspace (schema 1.0.0); errors name `source` and
    // the JSON path of the offending node.
    static Workspace from_json(std::string_view text,
                               const std::string& source = "<workspace>");
    static Workspace load(const std::string& path);
    // A workspace built in code; the spec is taken as already validated.
    static Workspace from_spec(WorkspaceSpec spec,
                               const std::string& source = "<spec>");

    // Applies an RFC 6902 JSON patch (a JSON array of operations) and re-validates.
    Workspace apply_patch(std::string_view patch_json,
                          const std::string& patch_source = "<patch>") const;

    std::string to_json(int indent = -1) const;

    // pyhf's document operations; each result is a new, re-validated workspace.
    Workspace prune(const PruneSelection& selection) const;
    Workspace rename(const RenameMap& names) const;
    // Channels, samples, observations, measurements and their parameters by name;
    // modifiers by (name, type).
    Workspace sorted() const;
    static Workspace combine(const Workspace& left, const Workspace& right,
                             WorkspaceJoin join = WorkspaceJoin::none,
                             bool merge_channels = false);
    // The text pyhf hashes for a digest: json.dumps(ws, sort_keys=True,
    // ensure_ascii=False), UTF-8.
    std::string canonical_json() const;
    // sha256 of canonical_json(), lowercase hex (pyhf.utils.digest).
    std::string sha256_digest() const;
    // Sorted unique channel names, sample names and (modifier name, type) pairs.
    std::vector<std::string> channel_names() const;
    std::vector<std::string> sample_names() const;
    std::vector<std::pair<std::string, std::string>> modifier_names() const;
    const WorkspaceSpec& spec() const { return *spec_; }
    const std::string& source() const { return source_; }

    // The named measurement, or the first one when `name` is empty.
    const Measurement& measurement(std::string_view name = {}) const;
    Model model(const ModelOptions& options = {}) const;
    // Observed main data in the model's channel order, then the model's auxdata.
    std::vector<double> data(const Model& model, bool include_auxdata = true) const;

    struct Document; // the JSON document, private to the core
    // For in-project callers that already hold a parsed document (the bindings).
    static Workspace from_document(std::shared_ptr<const Document> doc,
                                   std::string source);

  private:
    std::shared_ptr<const Document> document() const; // doc_, or the spec written out
    struct PatchOps;                                  // a parsed JSON patch
    Workspace(std::shared_ptr<const WorkspaceSpec> spec,
              std::shared_ptr<const Document> doc, std::string source);
    Workspace apply_ops(const PatchOps& ops, const std::string& patch_source) const;
    std::shared_ptr<const Document> doc_; // the parsed document, null after a patch
    std::shared_ptr<const WorkspaceSpec> spec_;
    std::string source_;
    friend class PatchSet;
};

// A pyhf patchset: named signal hypotheses, each a JSON patch of a background
// workspace.
class PatchSet {
  public:
    static PatchSet from_json(std::string_view text,
                              const std::string& source = "<patchset>");
    static PatchSet load(const std::string& path);

    const std::vector<std::string>& names() const { return names_; }
    const std::vector<std::string>& labels() const { return labels_; }
    // metadata.values of patch i as JSON text (numbers or strings).
    std::string values_json(std::size_t index) const;
    std::string description() const;
    std::string patch_json(std::string_view name) const;
    // metadata.digests as (algorithm, hex digest) pairs.
    std::vector<std::pair<std::string, std::string>> digests() const;
    // The patchset's metadata object as JSON text.
    std::string metadata_json() const;
    // Throws InvalidPatch when the workspace's sha256 digest differs from the
    // patchset's (other algorithms are checked by the caller).
    void verify(const Workspace& workspace) const;
    Workspace apply(const Workspace& workspace, std::string_view name) const;

    struct Document;

  private:
    static PatchSet from_document(std::shared_ptr<Document> doc,
                                  const std::string& source);
    std::size_t index_of(std::string_view name) const;
    std::shared_ptr<const Document> doc_;
    std::vector<std::string> names_;
    std::vector<std::string> labels_;
    std::string source_;
};

} // namespace hifit
