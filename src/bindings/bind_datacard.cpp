// Combine datacards: the card structures, parser/writer, templates and Combine's model.
#include "common.hpp"

#include <hifit/combine/datacard.hpp>
#include <hifit/histfactory/workspace.hpp>

#include <nanobind/stl/map.h>
#include <nanobind/stl/tuple.h>

namespace hifit::bindings {

namespace dc = hifit::datacard;

namespace {

// Templates cross the boundary as {(channel, process, variation): Histogram}.
dc::Templates templates_from_python(const nb::dict& d) {
    dc::Templates out;
    for (auto [key, value] : d) {
        auto t = nb::cast<std::tuple<std::string, std::string, std::string>>(key);
        out.emplace(dc::TemplateKey{std::get<0>(t), std::get<1>(t), std::get<2>(t)},
                    nb::cast<dc::Histogram>(value));
    }
    return out;
}

nb::dict templates_to_python(const dc::Templates& templates) {
    nb::dict out;
    for (const auto& [key, hist] : templates)
        out[nb::make_tuple(key.channel, key.process, key.variation)] = nb::cast(hist);
    return out;
}

} // namespace

void bind_datacard(nb::module_& m) {
    nb::module_ d = m.def_submodule("datacard", "CMS Combine datacards");

    nb::class_<dc::ShapeLine>(d, "ShapeLine")
        .def(nb::init<>())
        .def_rw("process", &dc::ShapeLine::process)
        .def_rw("channel", &dc::ShapeLine::channel)
        .def_rw("file", &dc::ShapeLine::file)
        .def_rw("nominal", &dc::ShapeLine::nominal)
        .def_rw("systematic", &dc::ShapeLine::systematic)
        .def_rw("line", &dc::ShapeLine::line);

    nb::class_<dc::Column>(d, "Column")
        .def(nb::init<>())
        .def_rw("bin", &dc::Column::bin)
        .def_rw("process", &dc::Column::process)
        .def_rw("process_id", &dc::Column::process_id)
        .def_rw("rate", &dc::Column::rate);

    nb::enum_<dc::NuisanceKind>(d, "NuisanceKind")
        .value("lnN", dc::NuisanceKind::lnN)
        .value("lnU", dc::NuisanceKind::lnU)
        .value("gmN", dc::NuisanceKind::gmN)
        .value("shape", dc::NuisanceKind::shape)
        .value("shape_optional", dc::NuisanceKind::shape_optional)
        .value("shapeN", dc::NuisanceKind::shapeN)
        .value("shapeU", dc::NuisanceKind::shapeU)
        .value("param", dc::NuisanceKind::param);

    nb::class_<dc::Effect>(d, "Effect")
        .def(nb::init<>())
        .def_rw("active", &dc::Effect::active)
        .def_rw("asymmetric", &dc::Effect::asymmetric)
        .def_rw("lo", &dc::Effect::lo)
        .def_rw("hi", &dc::Effect::hi);

    nb::class_<dc::Nuisance>(d, "Nuisance")
        .def(nb::init<>())
        .def_rw("name", &dc::Nuisance::name)
        .def_rw("kind", &dc::Nuisance::kind)
        .def_rw("effects", &dc::Nuisance::effects)
        .def_rw("gmn_events", &dc::Nuisance::gmn_events)
        .def_rw("mean", &dc::Nuisance::mean)
        .def_rw("sigma_lo", &dc::Nuisance::sigma_lo)
        .def_rw("sigma_hi", &dc::Nuisance::sigma_hi)
        .def_rw("range", &dc::Nuisance::range)
        .def_rw("nofloat", &dc::Nuisance::nofloat)
        .def_rw("line", &dc::Nuisance::line);

    nb::class_<dc::RateParam>(d, "RateParam")
        .def(nb::init<>())
        .def_rw("name", &dc::RateParam::name)
        .def_rw("bin", &dc::RateParam::bin)
        .def_rw("process", &dc::RateParam::process)
        .def_rw("init", &dc::RateParam::init)
        .def_rw("range", &dc::RateParam::range)
        .def_rw("formula", &dc::RateParam::formula)
        .def_rw("args", &dc::RateParam::args)
        .def_rw("line", &dc::RateParam::line);

    nb::class_<dc::ExtArg>(d, "ExtArg")
        .def(nb::init<>())
        .def_rw("name", &dc::ExtArg::name)
        .def_rw("init", &dc::ExtArg::init)
        .def_rw("range", &dc::ExtArg::range)
        .def_rw("line", &dc::ExtArg::line);

    nb::class_<dc::AutoMCStats>(d, "AutoMCStats")
        .def(nb::init<>())
        .def_rw("bin", &dc::AutoMCStats::bin)
        .def_rw("threshold", &dc::AutoMCStats::threshold)
        .def_rw("include_signal", &dc::AutoMCStats::include_signal)
        .def_rw("hist_mode", &dc::AutoMCStats::hist_mode)
        .def_rw("line", &dc::AutoMCStats::line);

    nb::class_<dc::Group>(d, "Group")
        .def(nb::init<>())
        .def_rw("name", &dc::Group::name)
        .def_rw("members", &dc::Group::members);

    nb::class_<dc::Datacard>(d, "Datacard")
        .def(nb::init<>())
        .def_rw("source", &dc::Datacard::source)
        .def_rw("bins", &dc::Datacard::bins)
        .def_rw("observation", &dc::Datacard::observation)
        .def_rw("shapes", &dc::Datacard::shapes)
        .def_rw("columns", &dc::Datacard::columns)
        .def_rw("nuisances", &dc::Datacard::nuisances)
        .def_rw("rate_params", &dc::Datacard::rate_params)
        .def_rw("ext_args", &dc::Datacard::ext_args)
        .def_rw("auto_mc_stats", &dc::Datacard::auto_mc_stats)
        .def_rw("groups", &dc::Datacard::groups)
        .def("processes", &dc::Datacard::processes)
        .def("is_signal", &dc::Datacard::is_signal, nb::arg("process"));

    nb::class_<dc::Histogram>(d, "Histogram")
        .def(nb::init<>())
        .def(
            "__init__",
            [](dc::Histogram* h, std::vector<double> contents,
               std::vector<double> sumw2, std::vector<double> edges) {
                new (h) dc::Histogram{std::move(contents), std::move(sumw2),
                                      std::move(edges)};
            },
            nb::arg("contents"), nb::arg("sumw2"),
            nb::arg("edges") = std::vector<double>{})
        .def_rw("contents", &dc::Histogram::contents)
        .def_rw("sumw2", &dc::Histogram::sumw2)
        .def_rw("edges", &dc::Histogram::edges);

    nb::class_<dc::ShapeRequest>(d, "ShapeRequest")
        .def_ro("channel", &dc::ShapeRequest::channel)
        .def_ro("process", &dc::ShapeRequest::process)
        .def_ro("variation", &dc::ShapeRequest::variation)
        .def_ro("file", &dc::ShapeRequest::file)
        .def_ro("object", &dc::ShapeRequest::object)
        .def_ro("required", &dc::ShapeRequest::required)
        .def_ro("line", &dc::ShapeRequest::line);

    d.def("parse", &dc::parse_datacard, nb::arg("text"),
          nb::arg("source") = "<string>");
    d.def("read", &dc::read_datacard, nb::arg("path"));
    d.def("write", &dc::write_datacard, nb::arg("card"), nb::arg("comment") = "");
    d.def("combine_cards", &dc::combine_cards, nb::arg("cards"));
    d.def(
        "shape_requests",
        [](const dc::Datacard& card, double mass,
           std::map<std::string, std::string> keywords) {
            return dc::shape_requests(card, {mass, std::move(keywords)});
        },
        nb::arg("card"), nb::arg("mass") = 120.0,
        nb::arg("keywords") = std::map<std::string, std::string>{});

    nb::class_<dc::CombineModel>(d, "CombineModel")
        .def_ro("model", &dc::CombineModel::model)
        .def_ro("data", &dc::CombineModel::data)
        .def_ro("notes", &dc::CombineModel::notes);

    d.def(
        "build_model",
        [](const dc::Datacard& card, const nb::dict& templates,
           std::vector<std::pair<std::string, std::string>> poi_map,
           std::pair<double, double> poi_range,
           std::vector<std::string> masked_channels, bool check_norm) {
            dc::CombineOptions o{std::move(poi_map), poi_range,
                                 std::move(masked_channels), check_norm};
            return dc::build_model(card, templates_from_python(templates), o);
        },
        nb::arg("card"), nb::arg("templates"),
        nb::arg("poi_map") = std::vector<std::pair<std::string, std::string>>{},
        nb::arg("poi_range") = std::pair<double, double>{0.0, 20.0},
        nb::arg("masked_channels") = std::vector<std::string>{},
        nb::arg("check_norm") = true);

    d.def(
        "to_workspace",
        [](const dc::Datacard& card, const nb::dict& templates,
           std::vector<std::pair<std::string, std::string>> poi_map) {
            dc::CombineOptions o;
            o.poi_map = std::move(poi_map);
            auto result = dc::to_workspace(card, templates_from_python(templates), o);
            return std::make_pair(Workspace::from_spec(std::move(result.spec)),
                                  std::move(result.inexact));
        },
        nb::arg("card"), nb::arg("templates"),
        nb::arg("poi_map") = std::vector<std::pair<std::string, std::string>>{});

    d.def(
        "to_datacard",
        [](const Workspace& ws, const std::string& shapes_file,
           const std::string& measurement) {
            auto result = dc::to_datacard(ws.spec(), shapes_file, measurement);
            return nb::make_tuple(std::move(result.card),
                                  templates_to_python(result.templates),
                                  std::move(result.inexact));
        },
        nb::arg("workspace"), nb::arg("shapes_file"), nb::arg("measurement") = "");
}

} // namespace hifit::bindings
