#include "common.hpp"

#include <hifit/workflow/templates.hpp>

namespace hifit::bindings {

void bind_templates(nb::module_& m) {
    m.def(
        "smooth_353qh_twice",
        [](const InArray& values) {
            return to_numpy(templates::smooth_353qh_twice(as_span(values)));
        },
        nb::arg("values"), nb::rv_policy::move);
    m.def(
        "smooth_variation_353qh_twice",
        [](const InArray& variation, const InArray& nominal) {
            return to_numpy(templates::smooth_variation_353qh_twice(as_span(variation),
                                                                    as_span(nominal)));
        },
        nb::arg("variation"), nb::arg("nominal"), nb::rv_policy::move);
}

} // namespace hifit::bindings
