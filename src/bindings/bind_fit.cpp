#include "common.hpp"

#include <hifit/errors.hpp>
#include <hifit/fit/minimizer.hpp>

#include <nanobind/stl/tuple.h>

#include <tuple>

namespace hifit::bindings {

namespace {
using FitResultState =
    std::tuple<std::vector<double>, std::vector<double>, std::vector<double>,
               std::vector<double>, std::vector<std::size_t>, std::vector<bool>,
               std::vector<bool>, double, double, bool, int, std::string, int, int,
               double>;

// Rows of the covariance: every parameter, or those listed (block-path fits).
std::size_t covariance_size(const FitResult& r) {
    return r.covariance_params.empty() ? r.bestfit.size() : r.covariance_params.size();
}

HessianPath hessian_path(const std::string& name) {
    if (name == "auto") return HessianPath::automatic;
    if (name == "dense") return HessianPath::dense;
    if (name == "block") return HessianPath::block;
    throw InvalidArgument("hessian: expected 'auto', 'dense' or 'block', found '" +
                          name + "'");
}

} // namespace

void bind_fit(nb::module_& m) {
    nb::class_<FitResult>(m, "FitResult")
        .def_prop_ro(
            "bestfit",
            [](const FitResult& r) { return to_numpy(std::vector(r.bestfit)); },
            nb::rv_policy::move)
        .def_prop_ro(
            "uncertainty",
            [](const FitResult& r) { return to_numpy(std::vector(r.uncertainty)); },
            nb::rv_policy::move)
        .def_prop_ro(
            "covariance",
            [](const FitResult& r) {
                const std::size_t n = covariance_size(r);
                return to_numpy(std::vector(r.covariance), {n, n});
            },
            nb::rv_policy::move)
        .def_prop_ro(
            "correlation",
            [](const FitResult& r) {
                const std::size_t n = covariance_size(r);
                return to_numpy(std::vector(r.correlation), {n, n});
            },
            nb::rv_policy::move)
        .def_prop_ro("covariance_params",
                     [](const FitResult& r) {
                         return std::vector<std::size_t>(r.covariance_params);
                     })
        .def_prop_ro("at_bound",
                     [](const FitResult& r) { return std::vector<bool>(r.at_bound); })
        .def_prop_ro("no_effect",
                     [](const FitResult& r) { return std::vector<bool>(r.no_effect); })
        .def_ro("twice_nll", &FitResult::twice_nll)
        .def_ro("edm", &FitResult::edm)
        .def_ro("valid", &FitResult::valid)
        .def_prop_ro(
            "status",
            [](const FitResult& r) { return std::string(to_string(r.status)); })
        .def_ro("message", &FitResult::message)
        .def_ro("iterations", &FitResult::iterations)
        .def_ro("evaluations", &FitResult::evaluations)
        .def_ro("wall_time", &FitResult::wall_time)
        // pickled field by field: Dask ships fit results to worker processes
        .def("__getstate__",
             [](const FitResult& r) {
                 return std::make_tuple(r.bestfit, r.uncertainty, r.covariance,
                                        r.correlation, r.covariance_params, r.at_bound,
                                        r.no_effect, r.twice_nll, r.edm, r.valid,
                                        static_cast<int>(r.status), r.message,
                                        r.iterations, r.evaluations, r.wall_time);
             })
        .def("__setstate__", [](FitResult& r, const FitResultState& s) {
            new (&r) FitResult{std::get<0>(s),
                               std::get<1>(s),
                               std::get<2>(s),
                               std::get<3>(s),
                               std::get<4>(s),
                               std::get<5>(s),
                               std::get<6>(s),
                               std::get<7>(s),
                               std::get<8>(s),
                               std::get<9>(s),
                               static_cast<FitStatus>(std::get<10>(s)),
                               std::get<11>(s),
                               std::get<12>(s),
                               std::get<13>(s),
                               std::get<14>(s)};
        });

    m.def(
        "check_dense_fit_memory",
        [](const Model& model) { check_dense_memory(model, kFitSquareMatrices); },
        nb::arg("model"));

    // The fit runs without the GIL: inputs are converted to C++ values first.
    m.def(
        "fit",
        [](Likelihood& likelihood, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed,
           int max_iterations, double edm_tolerance, const std::string& hessian) {
            FitOptions options;
            options.hessian = hessian_path(hessian);
            options.init = std::move(init);
            options.bounds = std::move(bounds);
            options.fixed = std::move(fixed);
            options.max_iterations = max_iterations;
            options.edm_tolerance = edm_tolerance;
            nb::gil_scoped_release release;
            return fit(likelihood, options);
        },
        nb::arg("likelihood"), nb::arg("init"), nb::arg("bounds"), nb::arg("fixed"),
        nb::arg("max_iterations") = 500, nb::arg("edm_tolerance") = 1e-9,
        nb::arg("hessian") = "auto");
}

} // namespace hifit::bindings
