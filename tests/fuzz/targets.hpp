// One function per parser for the fuzz driver (and the libFuzzer entry points): read
// an input as a user's file, then do what hifit does next with it (build the model,
// apply the patches, write the card back), so mutations reach past the parser too.
#pragma once

#include <hifit/histfactory/workspace.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace hifit::fuzz {

enum class Parser { workspace, patchset, datacard };

inline constexpr Parser kParsers[] = {Parser::workspace, Parser::patchset,
                                      Parser::datacard};

const char* name_of(Parser parser);
std::optional<Parser> parser_named(std::string_view name);

class Targets {
  public:
    // `patch_background`: the workspace text patchsets and patches are applied to.
    explicit Targets(std::string_view patch_background);

    // True when hifit accepted the input, false when it refused it with one of its
    // documented errors (hifit::Error), whose message goes to `refusal` if given.
    // Anything else escapes: a finding.
    bool run(Parser parser, std::string_view input,
             std::string* refusal = nullptr) const;

  private:
    bool workspace(std::string_view input) const;
    bool patchset(std::string_view input) const;
    bool datacard(std::string_view input) const;
    Workspace background_;
};

} // namespace hifit::fuzz
