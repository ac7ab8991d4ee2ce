#include "common.hpp"

#include <hifit/errors.hpp>

#include <cstring>
#include <exception>

namespace {

// nanobind's own translator decodes what() as strict UTF-8: an error quoting a
// Latin-1 byte of the user's file would become a UnicodeDecodeError naming neither
// the file nor the problem. Undecodable bytes are shown as \xNN instead.
template <class E> void translate_escaped(nb::handle type) {
    nb::register_exception_translator(
        [](const std::exception_ptr& p, void* payload) {
            try {
                std::rethrow_exception(p);
            } catch (const E& e) {
                const char* what = e.what();
                PyObject* message = PyUnicode_DecodeUTF8(
                    what, static_cast<Py_ssize_t>(std::strlen(what)),
                    "backslashreplace");
                PyErr_SetObject(static_cast<PyObject*>(payload), message);
                Py_XDECREF(message);
            }
        },
        type.ptr());
}

} // namespace

NB_MODULE(_core, m) {
    m.doc() = "hifit's compiled engine (private; use the hifit package)";
    // Results held in module globals are still alive when the interpreter tears the
    // module down; nanobind would report them as leaks on every such exit.
    nb::set_leak_warnings(false);
    // Base first: nanobind tries the most recently registered translator first.
    auto error = nb::exception<hifit::Error>(m, "HifitError", PyExc_ValueError);
    auto spec = nb::exception<hifit::InvalidSpec>(m, "InvalidSpec", error);
    auto model = nb::exception<hifit::InvalidModel>(m, "InvalidModel", error);
    auto patch = nb::exception<hifit::InvalidPatch>(m, "InvalidPatch", error);
    auto argument = nb::exception<hifit::InvalidArgument>(m, "InvalidArgument", error);
    translate_escaped<hifit::Error>(error);
    translate_escaped<hifit::InvalidSpec>(spec);
    translate_escaped<hifit::InvalidModel>(model);
    translate_escaped<hifit::InvalidPatch>(patch);
    translate_escaped<hifit::InvalidArgument>(argument);
    hifit::bindings::bind_workspace(m);
    hifit::bindings::bind_model(m);
    hifit::bindings::bind_fit(m);
    hifit::bindings::bind_infer(m);
    hifit::bindings::bind_templates(m);
    hifit::bindings::bind_datacard(m);
    hifit::bindings::bind_combine_methods(m);
}
