#include "common.hpp"

#include <hifit/errors.hpp>

NB_MODULE(_core, m) {
    m.doc() = "hifit's compiled engine (private; use the hifit package)";
    // Base first: nanobind tries the most recently registered translator first.
    auto error = nb::exception<hifit::Error>(m, "HifitError", PyExc_ValueError);
    nb::exception<hifit::InvalidSpec>(m, "InvalidSpec", error);
    nb::exception<hifit::InvalidModel>(m, "InvalidModel", error);
    nb::exception<hifit::InvalidPatch>(m, "InvalidPatch", error);
    nb::exception<hifit::InvalidArgument>(m, "InvalidArgument", error);
    hifit::bindings::bind_workspace(m);
    hifit::bindings::bind_model(m);
    hifit::bindings::bind_fit(m);
    hifit::bindings::bind_infer(m);
    hifit::bindings::bind_templates(m);
}
