// Placeholder until implemented.
#include <hifit/datacard.hpp>
#include <hifit/errors.hpp>

namespace hifit::datacard {

CombineModel build_model(const Datacard&, const Templates&, const CombineOptions&) { throw Error("build_model: not implemented"); }
} // namespace hifit::datacard
