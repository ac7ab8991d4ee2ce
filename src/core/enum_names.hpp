// Names of enumerators: one table per enum, in declaration order, indexed by value.
#pragma once

#include <cstddef>

namespace hifit {

template <class Enum, std::size_t N>
const char* enum_name(Enum value, const char* const (&names)[N]) {
    const auto i = static_cast<std::size_t>(value);
    return i < N ? names[i] : "unknown";
}

} // namespace hifit
