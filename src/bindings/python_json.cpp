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

    std::size_t size() const {
        return static_cast<std::size_t>(PySequence_Size(obj_.ptr()));
    }
    bool contains(const char* key) const {
        return is_object() && PyDict_GetItem(obj_.ptr(), interned(key)) != nullptr;
    }
    PyNode operator[](const char* key) const {
        return PyNode(PyDict_GetItem(obj_.ptr(), interned(key)));
    }
    PyNode operator[](std::size_t i) const {
        return PyNode(PyList_Check(obj_.ptr())
                          ? PyList_GET_ITEM(obj_.ptr(), static_cast<Py_ssize_t>(i))
                          : PyTuple_GET_ITEM(obj_.ptr(), static_cast<Py_ssize_t>(i)));
    }
    std::vector<std::pair<std::string, PyNode>> items() const {
        std::vector<std::pair<std::string, PyNode>> out;
        PyObject *key = nullptr, *value = nullptr;
        Py_ssize_t pos = 0;
        while (PyDict_Next(obj_.ptr(), &pos, &key, &value)) {
            out.emplace_back(PyUnicode_Check(key) ? PyUnicode_AsUTF8(key)
                                                  : "<non-string key>",
                             PyNode(value));
        }
        return out;
    }

    template <class T> T get() const {
        if constexpr (std::is_same_v<T, std::string>) {
            Py_ssize_t size = 0;
            const char* text = PyUnicode_AsUTF8AndSize(obj_.ptr(), &size);
            if (!text) throw nb::python_error();
            return std::string(text, static_cast<std::size_t>(size));
        } else if constexpr (std::is_same_v<T, bool>) {
            return obj_.ptr() == Py_True;
        } else {
            return PyFloat_Check(obj_.ptr()) ? PyFloat_AS_DOUBLE(obj_.ptr())
                                             : PyLong_AsDouble(obj_.ptr());
        }
    }

    nb::handle handle() const { return obj_; }

  private:
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
    if (node.is_number())
        return "number " + nb::cast<std::string>(nb::repr(node.handle()));
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
