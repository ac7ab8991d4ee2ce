// Placeholder until implemented.
#include <hifit/datacard.hpp>
#include <hifit/errors.hpp>

namespace hifit::datacard {

std::string write_datacard(const Datacard&, std::string_view) { throw Error("write_datacard: not implemented"); }
} // namespace hifit::datacard
