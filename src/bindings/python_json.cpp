#include "python_json.hpp"

#include "histfactory/spec_reader.hpp"

#include <hifit/errors.hpp>

#include <string_view>
#include <unordered_map>
#include <utility>

namespace hifit::bindings {

namespace {

// A read-only view of a Python object with the subset of nlohmann::json's interface
// that spec_reader uses. numpy arrays and scalars are viewed through tolist().
class PyNode {
  public:
    explicit PyNode(nb::handle obj) : obj_(nb::borrow(obj)) {
        if (!is_basic() && nb::hasattr(obj_, "tolist")) obj_ = obj_.attr("tolist")();
    }

    bool is_null() const { return obj_.is_none(); }
    bool is_boolean() const { return PyBool_Check(obj_.ptr()); }
    bool is_number() const {
        return !is_boolean() && (PyLong_Check(obj_.ptr()) || PyFloat_Check(obj_.ptr()));
    }
    bool is_string() const { return PyUnicode_Check(obj_.ptr()); }
    bool is_object() const { return PyDict_Check(obj_.ptr()); }
    bool is_array() const {
        return PyList_Check(obj_.ptr()) || PyTuple_Check(obj_.ptr());
    }

    // The real length of the list or tuple: a subclass's __len__ may lie.
    std::size_t size() const {
        return static_cast<std::size_t>(PyList_Check(obj_.ptr())
                                            ? PyList_GET_SIZE(obj_.ptr())
                                            : PyTuple_GET_SIZE(obj_.ptr()));
    }
    bool contains(const char* key) const {
        return is_object() && PyDict_GetItem(obj_.ptr(), interned(key)) != nullptr;
    }
    PyNode operator[](const char* key) const {
        PyObject* value = PyDict_GetItem(obj_.ptr(), interned(key));
        // contains() was checked, but Python code run since may have removed it.
        if (!value) throw InvalidSpec(std::string("key \"") + key + "\" disappeared");
        return PyNode(value);
    }
    PyNode operator[](std::size_t i) const {
        // Bounds checked on every access: reading an item may run Python code
        // (tolist) that shrinks a list seen earlier.
        if (i >= size()) throw InvalidSpec("an array changed size while being read");
        const auto at = static_cast<Py_ssize_t>(i);
        return PyNode(PyList_Check(obj_.ptr()) ? PyList_GET_ITEM(obj_.ptr(), at)
                                               : PyTuple_GET_ITEM(obj_.ptr(), at));
    }
    std::vector<std::pair<std::string, PyNode>> items() const {
        // Owned (key, value) pairs first: building a PyNode may run Python code that
        // mutates the dict, which PyDict_Next's borrowed references do not survive.
        nb::object pairs = nb::steal(PyDict_Items(obj_.ptr()));
        if (!pairs.is_valid()) throw nb::python_error();
        std::vector<std::pair<std::string, PyNode>> out;
        out.reserve(static_cast<std::size_t>(PyList_GET_SIZE(pairs.ptr())));
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(pairs.ptr()); ++i) {
            PyObject* pair = PyList_GET_ITEM(pairs.ptr(), i);
            PyObject* key = PyTuple_GET_ITEM(pair, 0);
            out.emplace_back(PyUnicode_Check(key) ? utf8(key) : "<non-string key>",
                             PyNode(PyTuple_GET_ITEM(pair, 1)));
        }
        return out;
    }
    template <class T> T get() const {
        if constexpr (std::is_same_v<T, std::string>) {
            return utf8(obj_.ptr());
        } else if constexpr (std::is_same_v<T, bool>) {
            return obj_.ptr() == Py_True;
        } else {
            if (PyFloat_Check(obj_.ptr())) return PyFloat_AS_DOUBLE(obj_.ptr());
            const double value = PyLong_AsDouble(obj_.ptr());
            if (value == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                throw InvalidSpec("an integer too large for a double");
            }
            return value;
        }
    }

    nb::handle handle() const { return obj_; }

  private:
    // str -> UTF-8; lone surrogates have no UTF-8 form.
    static std::string utf8(PyObject* str) {
        Py_ssize_t size = 0;
        const char* text = PyUnicode_AsUTF8AndSize(str, &size);
        if (!text) {
            PyErr_Clear();
            throw InvalidSpec("a string that is not valid Unicode (lone surrogate)");
        }
        return std::string(text, static_cast<std::size_t>(size));
    }
    // Keys are string literals: one interned, pre-hashed Python str per literal saves
    // building and hashing a new str on every look-up. Called with the GIL held.
    static PyObject* interned(const char* key) {
        static std::unordered_map<const char*, PyObject*> cache;
        auto [it, inserted] = cache.try_emplace(key, nullptr);
        if (inserted) it->second = PyUnicode_InternFromString(key);
        return it->second;
    }
    bool is_basic() const {
        return obj_.is_none() || is_number() || is_boolean() || is_string() ||
               is_object() || is_array();
    }
    nb::object obj_;
};

std::string describe(const PyNode& node) {
    if (node.is_null()) return "null";
    if (node.is_boolean()) return node.get<bool>() ? "true" : "false";
    if (node.is_string()) {
        std::string s = node.get<std::string>();
        if (s.size() > 40) s = s.substr(0, 37) + "...";
        return "string \"" + s + "\"";
    }
    if (node.is_number()) {
        // The exact type's repr: a subclass's __repr__ is not trusted, and ints
        // beyond Python's digit limit have none.
        PyObject* h = node.handle().ptr();
        nb::object text = nb::steal(PyFloat_Check(h) ? PyFloat_Type.tp_repr(h)
                                                     : PyLong_Type.tp_repr(h));
        if (!text.is_valid()) {
            PyErr_Clear();
            return "a number with too many digits";
        }
        Py_ssize_t size = 0;
        const char* utf8 = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
        return "number " + std::string(utf8, static_cast<std::size_t>(size));
    }
    if (node.is_array())
        return "an array of " + std::to_string(node.size()) + " item(s)";
    if (node.is_object()) return "an object";
    return "a " + std::string(nb::type_name(node.handle().type()).c_str());
}

} // namespace

Workspace workspace_from_python(nb::handle spec, const std::string& source) {
    return Workspace::from_spec(spec_reader::read_workspace(PyNode(spec), source),
                                source);
}

} // namespace hifit::bindings
