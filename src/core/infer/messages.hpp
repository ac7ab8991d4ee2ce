// The `message` of an inference result: what did not work, in parts joined by "; ".
#pragma once

#include <hifit/fit/minimizer.hpp>

#include <initializer_list>
#include <string>
#include <utility>

namespace hifit {

inline void append_message(std::string& message, const std::string& part) {
    if (part.empty()) return;
    if (!message.empty()) message += "; ";
    message += part;
}

// "name: reason" of every fit that did not converge, empty if all did.
inline std::string
fit_failures(std::initializer_list<std::pair<const char*, const FitResult*>> fits) {
    std::string out;
    for (const auto& [name, fit] : fits)
        if (!fit->valid) append_message(out, std::string(name) + ": " + fit->message);
    return out;
}

} // namespace hifit
