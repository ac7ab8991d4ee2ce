#include "python_json.hpp"

#include <hifit/errors.hpp>

namespace hifit::bindings {

Json to_json(nb::handle obj) {
    if (obj.is_none()) return nullptr;
    // bool before int: Python's bool is an int.
    if (PyBool_Check(obj.ptr())) return obj.ptr() == Py_True;
    if (PyLong_Check(obj.ptr())) {
        const long long v = PyLong_AsLongLong(obj.ptr());
        if (v == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return PyLong_AsDouble(obj.ptr());
        }
        return v;
    }
    if (PyFloat_Check(obj.ptr())) return PyFloat_AS_DOUBLE(obj.ptr());
    if (PyUnicode_Check(obj.ptr())) {
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
        if (!text) throw nb::python_error();
        return std::string(text, static_cast<std::size_t>(size));
    }
    if (PyDict_Check(obj.ptr())) {
        Json out = Json::object();
        PyObject *key = nullptr, *value = nullptr;
        Py_ssize_t pos = 0;
        while (PyDict_Next(obj.ptr(), &pos, &key, &value)) {
            if (!PyUnicode_Check(key)) {
                throw InvalidSpec("JSON object keys must be strings, found a " +
                                  std::string(nb::type_name(key->ob_type).c_str()));
            }
            out.emplace(PyUnicode_AsUTF8(key), to_json(value));
        }
        return out;
    }
    if (PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr())) {
        nb::sequence seq = nb::borrow<nb::sequence>(obj);
        Json out = Json::array();
        const std::size_t n = nb::len(seq);
        out.get_ref<Json::array_t&>().reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(to_json(seq[i]));
        }
        return out;
    }
    // numpy arrays and scalars, and anything else with tolist()
    if (nb::hasattr(obj, "tolist")) return to_json(obj.attr("tolist")());
    throw InvalidSpec("cannot represent a " + std::string(nb::type_name(obj.type()).c_str()) +
                      " in JSON");
}

} // namespace hifit::bindings
