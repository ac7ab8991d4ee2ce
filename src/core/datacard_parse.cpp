// Placeholder until implemented.
#include <hifit/datacard.hpp>
#include <hifit/errors.hpp>

namespace hifit::datacard {

const char* to_string(NuisanceKind) { return "lnN"; }
std::vector<std::string> Datacard::processes() const { return {}; }
bool Datacard::is_signal(std::string_view) const { return false; }
Datacard parse_datacard(std::string_view, const std::string&) { throw Error("parse_datacard: not implemented"); }
Datacard read_datacard(const std::string&) { throw Error("read_datacard: not implemented"); }
} // namespace hifit::datacard
