// Placeholder until implemented.
#include <hifit/datacard.hpp>
#include <hifit/errors.hpp>

namespace hifit::datacard {

ToWorkspace to_workspace(const Datacard&, const Templates&, const CombineOptions&) { throw Error("to_workspace: not implemented"); }
ToDatacard to_datacard(const WorkspaceSpec&, const std::string&, const std::string&) { throw Error("to_datacard: not implemented"); }
} // namespace hifit::datacard
