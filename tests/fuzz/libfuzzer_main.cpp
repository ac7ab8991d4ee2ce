// libFuzzer entry point of one parser (HIFIT_FUZZ_PARSER), sharing targets.cpp with the
// mutation driver. Build with clang: -DHIFIT_LIBFUZZER=ON (see
// tests/fuzz/CMakeLists.txt); run e.g. `libfuzzer_datacard -max_total_time=600 corpus/`
// with a copy of the seeds.
#include "corpus.hpp"
#include "targets.hpp"

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>

namespace {

const hifit::fuzz::Targets& targets() {
    static const hifit::fuzz::Targets instance([] {
        std::ifstream in(std::string(HIFIT_SOURCE_DIR) + "/" +
                         hifit::fuzz::kPatchBackground);
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }());
    return instance;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // hifit's documented errors are fine; any other exception escapes and aborts.
    targets().run(hifit::fuzz::Parser::HIFIT_FUZZ_PARSER,
                  {reinterpret_cast<const char*>(data), size});
    return 0;
}
