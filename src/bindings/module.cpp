#include "common.hpp"

#include <hifit/errors.hpp>

NB_MODULE(_core, m) {
    m.doc() = "hifit's compiled engine (private; use the hifit package)";
    // Results held in module globals are still alive when the interpreter tears the
    // module down; nanobind would report them as leaks on every such exit.
    nb::set_leak_warnings(false);
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
    hifit::bindings::bind_datacard(m);
    hifit::bindings::bind_combine_methods(m);
}
