#include "common.hpp"

#include <hifit/errors.hpp>
#include <hifit/fit/minimizer.hpp>

namespace hifit::bindings {

namespace {

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
        .def_ro("wall_time", &FitResult::wall_time);

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
