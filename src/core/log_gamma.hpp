// ln|Gamma(x)| for code that runs on threads: std::lgamma also stores the sign in the
// global `signgam` (POSIX), a data race between threads; lgamma_r returns it instead.
#pragma once

#include <math.h>

namespace hifit {

inline double log_gamma(double x) {
    int sign = 0;
    return ::lgamma_r(x, &sign);
}

} // namespace hifit
