// SHA-256 (FIPS 180-4) of a byte string, for pyhf's workspace digests.
#pragma once

#include <string>
#include <string_view>

namespace hifit {

// Lowercase hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);

} // namespace hifit
