// Deterministic input mutations for the parser fuzz driver: byte-level edits, splices
// between inputs, and format-aware edits (JSON tokens and subtrees; datacard lines and
// columns). Same seed, same inputs: same mutants.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hifit::fuzz {

// splitmix64: small, fast, and identical on every platform.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n); 0 when n == 0.
    std::size_t below(std::size_t n) { return n == 0 ? 0 : next() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }

  private:
    std::uint64_t state_;
};

enum class Format { json, datacard };

// One to a few stacked mutations of `input`; `other` is a second input of the same
// format to splice from.
std::string mutate(std::string_view input, std::string_view other, Format format,
                   Rng& rng);

} // namespace hifit::fuzz
