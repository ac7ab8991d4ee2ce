// Placeholder until implemented.
#include <hifit/datacard.hpp>
#include <hifit/errors.hpp>

namespace hifit::datacard {

std::vector<ShapeRequest> shape_requests(const Datacard&, const ShapeRequestOptions&) { throw Error("shape_requests: not implemented"); }
} // namespace hifit::datacard
