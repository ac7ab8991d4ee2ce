#include "common.hpp"
#include "python_json.hpp"

#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

namespace hifit::bindings {

namespace {

ModelOptions model_options(const std::string& measurement,
                           const std::optional<std::string>& poi_name,
                           const std::string& normsys, const std::string& histosys) {
    ModelOptions o;
    o.measurement = measurement;
    o.poi_name = poi_name;
    if (normsys == "code1")
        o.normsys = NormsysCode::code1;
    else if (normsys == "code4")
        o.normsys = NormsysCode::code4;
    else
        throw InvalidArgument("normsys interpolation must be code1 or code4, not " +
                              normsys);
    if (histosys == "code0")
        o.histosys = HistosysCode::code0;
    else if (histosys == "code2")
        o.histosys = HistosysCode::code2;
    else if (histosys == "code4p")
        o.histosys = HistosysCode::code4p;
    else
        throw InvalidArgument(
            "histosys interpolation must be code0, code2 or code4p, not " + histosys);
    return o;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

WorkspaceJoin parse_join(const std::string& join) {
    if (join == "none") return WorkspaceJoin::none;
    if (join == "outer") return WorkspaceJoin::outer;
    if (join == "left outer") return WorkspaceJoin::left_outer;
    if (join == "right outer") return WorkspaceJoin::right_outer;
    throw InvalidArgument("Workspaces must be joined using one of the valid join "
                          "operations (none, outer, left outer, right outer); not " +
                          join);
}

} // namespace

void bind_workspace(nb::module_& m) {
    nb::class_<Workspace>(m, "Workspace")
        .def_static("from_object", &workspace_from_python, nb::arg("spec"),
                    nb::arg("source") = "<dict>")
        .def_static("from_json", &Workspace::from_json, nb::arg("text"),
                    nb::arg("source") = "<workspace>")
        .def_static("load", &Workspace::load, nb::arg("path"))
        .def("apply_patch", &Workspace::apply_patch, nb::arg("patch_json"),
             nb::arg("source") = "<patch>")
        .def("to_json", &Workspace::to_json, nb::arg("indent") = -1)
        .def_prop_ro("source", &Workspace::source)
        .def("measurement_names",
             [](const Workspace& ws) {
                 std::vector<std::string> out;
                 for (const auto& meas : ws.spec().measurements)
                     out.push_back(meas.name);
                 return out;
             })
        .def("measurement_poi",
             [](const Workspace& ws, const std::string& name) {
                 return ws.measurement(name).poi;
             })
        .def(
            "model",
            [](const Workspace& ws, const std::string& measurement,
               const std::optional<std::string>& poi_name, const std::string& normsys,
               const std::string& histosys) {
                const ModelOptions options =
                    model_options(measurement, poi_name, normsys, histosys);
                nb::gil_scoped_release release;
                return ws.model(options);
            },
            nb::arg("measurement") = "", nb::arg("poi_name") = nb::none(),
            nb::arg("normsys") = "code4", nb::arg("histosys") = "code4p")
        .def(
            "data",
            [](const Workspace& ws, const Model& model, bool include_auxdata) {
                return to_numpy(ws.data(model, include_auxdata));
            },
            nb::arg("model"), nb::arg("include_auxdata") = true)
        .def("observations",
             [](const Workspace& ws) {
                 std::vector<std::pair<std::string, std::vector<double>>> out;
                 for (const auto& o : ws.spec().observations)
                     out.emplace_back(o.name, o.data);
                 return out;
             })
        .def(
            "prune",
            [](const Workspace& ws, std::vector<std::string> modifiers,
               std::vector<std::string> modifier_types,
               std::vector<std::string> samples, std::vector<std::string> channels,
               std::vector<std::string> measurements) {
                return ws.prune(PruneSelection{
                    std::move(modifiers), std::move(modifier_types), std::move(samples),
                    std::move(channels), std::move(measurements)});
            },
            nb::arg("modifiers"), nb::arg("modifier_types"), nb::arg("samples"),
            nb::arg("channels"), nb::arg("measurements"))
        .def(
            "rename",
            [](const Workspace& ws, Pairs modifiers, Pairs samples, Pairs channels,
               Pairs measurements) {
                return ws.rename(RenameMap{std::move(modifiers), std::move(samples),
                                           std::move(channels),
                                           std::move(measurements)});
            },
            nb::arg("modifiers"), nb::arg("samples"), nb::arg("channels"),
            nb::arg("measurements"))
        .def("sorted", &Workspace::sorted)
        .def_static(
            "combine",
            [](const Workspace& left, const Workspace& right, const std::string& join,
               bool merge_channels) {
                return Workspace::combine(left, right, parse_join(join),
                                          merge_channels);
            },
            nb::arg("left"), nb::arg("right"), nb::arg("join") = "none",
            nb::arg("merge_channels") = false)
        .def("canonical_json", &Workspace::canonical_json)
        .def("sha256_digest", &Workspace::sha256_digest)
        .def("channel_names", &Workspace::channel_names)
        .def("sample_names", &Workspace::sample_names)
        .def("modifier_names", &Workspace::modifier_names);

    nb::class_<PatchSet>(m, "PatchSet")
        .def_static("from_json", &PatchSet::from_json, nb::arg("text"),
                    nb::arg("source") = "<patchset>")
        .def_static("load", &PatchSet::load, nb::arg("path"))
        .def_prop_ro("names", &PatchSet::names)
        .def_prop_ro("labels", &PatchSet::labels)
        .def_prop_ro("description", &PatchSet::description)
        .def("values_json", &PatchSet::values_json, nb::arg("index"))
        .def("patch_json", &PatchSet::patch_json, nb::arg("name"))
        .def("digests", &PatchSet::digests)
        .def("metadata_json", &PatchSet::metadata_json)
        .def("verify", &PatchSet::verify, nb::arg("workspace"))
        .def("apply", &PatchSet::apply, nb::arg("workspace"), nb::arg("name"),
             nb::call_guard<nb::gil_scoped_release>());
}

} // namespace hifit::bindings
