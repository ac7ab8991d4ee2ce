#include "common.hpp"

#include <hifit/templates.hpp>

namespace hifit::bindings {

void bind_templates(nb::module_& m) {
    m.def("smooth_353qh_twice", &templates::smooth_353qh_twice, nb::arg("values"));
}

} // namespace hifit::bindings
