#include "common.hpp"

#include <hifit/likelihood/model.hpp>
#include <hifit/workflow/prediction.hpp>

namespace hifit::bindings {

namespace {

std::vector<std::string> type_names(const ParamSetInfo& p) {
    std::vector<std::string> out;
    for (auto t : p.types) out.emplace_back(to_string(t));
    return out;
}

} // namespace

void bind_model(nb::module_& m) {
    nb::class_<ParamSetInfo>(m, "ParamSetInfo")
        .def_ro("name", &ParamSetInfo::name)
        .def_ro("offset", &ParamSetInfo::offset)
        .def_ro("size", &ParamSetInfo::size)
        .def_prop_ro(
            "constraint",
            [](const ParamSetInfo& p) { return std::string(to_string(p.constraint)); })
        .def_prop_ro("modifier_types", &type_names);

    nb::class_<Model>(m, "Model")
        .def_prop_ro("npars", &Model::npars)
        .def_prop_ro("nmain", &Model::nmain)
        .def_prop_ro("naux", &Model::naux)
        .def_prop_ro("par_names", &Model::par_names)
        .def_prop_ro("paramsets", &Model::paramsets)
        .def_prop_ro("poi_index", &Model::poi_index)
        .def_prop_ro("poi_name", &Model::poi_name)
        .def_prop_ro("suggested_init", &Model::suggested_init)
        .def_prop_ro("suggested_bounds", &Model::suggested_bounds)
        .def_prop_ro("suggested_fixed", &Model::suggested_fixed)
        .def_prop_ro("auxdata", &Model::auxdata)
        .def_prop_ro("channels", &Model::channels)
        .def_prop_ro("channel_nbins", &Model::channel_nbins)
        .def_prop_ro("samples", &Model::samples)
        .def_prop_ro("measurement_name", &Model::measurement_name)
        .def("with_poi", &Model::with_poi, nb::arg("name"));

    m.def(
        "expected_by_sample",
        [](const Model& model, std::vector<double> pars) {
            const std::size_t ns = model.samples().size(), nb = model.nmain();
            return to_numpy(expected_by_sample(model, pars), {ns, nb});
        },
        nb::arg("model"), nb::arg("pars"));
    m.def(
        "nominal_by_sample",
        [](const Model& model) {
            const std::size_t ns = model.samples().size(), nb = model.nmain();
            return to_numpy(nominal_by_sample(model), {ns, nb});
        },
        nb::arg("model"));
    m.def(
        "predict",
        [](const Model& model, std::vector<double> pars,
           std::vector<double> uncertainties, std::vector<double> correlation) {
            Prediction p;
            {
                nb::gil_scoped_release release;
                p = predict(model, pars, uncertainties, correlation);
            }
            return nb::make_tuple(
                to_numpy(std::move(p.yields), {p.nsamples, p.nbins}),
                to_numpy(std::move(p.stdev_bins), {p.nsamples + 1, p.nbins}),
                to_numpy(std::move(p.stdev_channels), {p.nsamples + 1, p.nchannels}));
        },
        nb::arg("model"), nb::arg("pars"), nb::arg("uncertainties"),
        nb::arg("correlation") = std::vector<double>{});

    nb::class_<Likelihood>(m, "Likelihood")
        .def(
            "__init__",
            [](Likelihood* self, const Model& model, const InArray& data) {
                new (self) Likelihood(model, as_span(data));
            },
            nb::arg("model"), nb::arg("data"))
        .def("set_data",
             [](Likelihood& lh, const InArray& data) { lh.set_data(as_span(data)); })
        .def("twice_nll",
             [](Likelihood& lh, const InArray& pars) {
                 return lh.twice_nll(as_span(pars));
             })
        .def("twice_nll_constraints",
             [](const Likelihood& lh, const InArray& pars) {
                 return lh.twice_nll_constraints(as_span(pars));
             })
        .def("twice_nll_grad",
             [](Likelihood& lh, const InArray& pars) {
                 std::vector<double> g(lh.model().npars());
                 const double f = lh.twice_nll_grad(as_span(pars), g);
                 return nb::make_tuple(f, to_numpy(std::move(g)));
             })
        .def("twice_nll_grad_hess",
             [](Likelihood& lh, const InArray& pars) {
                 const std::size_t n = lh.model().npars();
                 std::vector<double> g(n), h(n * n);
                 const double f = lh.twice_nll_grad_hess(as_span(pars), g, h);
                 return nb::make_tuple(f, to_numpy(std::move(g)),
                                       to_numpy(std::move(h), {n, n}));
             })
        .def(
            "expected_data",
            [](Likelihood& lh, const InArray& pars, bool include_auxdata) {
                const auto& model = lh.model();
                std::vector<double> out(model.nmain() +
                                        (include_auxdata ? model.naux() : 0));
                lh.expected_data(as_span(pars), out, include_auxdata);
                return to_numpy(std::move(out));
            },
            nb::arg("pars"), nb::arg("include_auxdata") = true);
}

} // namespace hifit::bindings
