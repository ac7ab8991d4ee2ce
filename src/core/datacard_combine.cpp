// Placeholder until implemented.
#include <hifit/datacard.hpp>
#include <hifit/errors.hpp>

namespace hifit::datacard {

Datacard combine_cards(const std::vector<std::pair<std::string, Datacard>>&) { throw Error("combine_cards: not implemented"); }
} // namespace hifit::datacard
