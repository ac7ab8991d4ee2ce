// Shared prelude of the binding files: nanobind includes and numpy conversion helpers.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <hifit/fit/minimizer.hpp>

#include <span>
#include <vector>

namespace nb = nanobind;

namespace hifit::bindings {

using InArray = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using OutArray = nb::ndarray<nb::numpy, double>;

inline std::span<const double> as_span(const InArray& a) {
    return {a.data(), a.shape(0)};
}

// Moves a vector into a numpy array that owns it.
inline OutArray to_numpy(std::vector<double>&& v,
                         std::initializer_list<std::size_t> shape) {
    auto* owned = new std::vector<double>(std::move(v));
    nb::capsule owner(
        owned, [](void* p) noexcept { delete static_cast<std::vector<double>*>(p); });
    return OutArray(owned->data(), shape.size(), shape.begin(), owner);
}

// The fit settings every inference binding takes (init, bounds, fixed).
inline FitOptions fit_options(std::vector<double> init,
                              std::vector<std::pair<double, double>> bounds,
                              std::vector<bool> fixed) {
    FitOptions o;
    o.init = std::move(init);
    o.bounds = std::move(bounds);
    o.fixed = std::move(fixed);
    return o;
}

#define HIFIT_FIT_ARGS nb::arg("init"), nb::arg("bounds"), nb::arg("fixed")

inline OutArray to_numpy(std::vector<double>&& v) {
    const std::size_t n = v.size();
    return to_numpy(std::move(v), {n});
}

void bind_workspace(nb::module_& m);
void bind_model(nb::module_& m);
void bind_fit(nb::module_& m);
void bind_infer(nb::module_& m);
void bind_templates(nb::module_& m);
void bind_datacard(nb::module_& m);
void bind_combine_methods(nb::module_& m);

} // namespace hifit::bindings
