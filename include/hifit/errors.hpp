// Exceptions thrown by the hifit core. Every message names where the problem is
// (file, JSON path or line), what was expected and what was found.
#pragma once

#include <stdexcept>
#include <string>

namespace hifit {

// Base class of every hifit error.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Malformed input document: JSON syntax or schema violation.
class InvalidSpec : public Error {
  public:
    using Error::Error;
};

// A well-formed document that does not describe a valid model.
class InvalidModel : public Error {
  public:
    using Error::Error;
};

// A JSON patch that cannot be applied, or a patch name that does not exist.
class InvalidPatch : public Error {
  public:
    using Error::Error;
};

// Wrong arguments to an evaluation or fit (sizes, bounds, names).
class InvalidArgument : public Error {
  public:
    using Error::Error;
};

} // namespace hifit
