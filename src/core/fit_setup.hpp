// Fit options derived from a base: defaults filled in, one parameter fixed, warm
// starts.
#pragma once

#include <hifit/fit.hpp>

namespace hifit {

// `base` with init, bounds and fixed filled from the model where they are empty; inner
// fits of the inference routines skip the covariance.
inline FitOptions resolved(const Model& model, FitOptions base) {
    if (base.init.empty()) base.init = model.suggested_init();
    if (base.bounds.empty()) base.bounds = model.suggested_bounds();
    if (base.fixed.empty()) base.fixed = model.suggested_fixed();
    return base;
}

// Parameter `par` fixed at `value`, starting from `start` (a previous solution).
inline FitOptions fixed_at(FitOptions options, std::size_t par, double value,
                           const std::vector<double>& start) {
    if (!start.empty()) options.init = start;
    options.init[par] = value;
    options.fixed[par] = true;
    options.compute_covariance = false;
    return options;
}

inline FitOptions warm(FitOptions options, const std::vector<double>& start) {
    if (!start.empty()) {
        for (std::size_t i = 0; i < start.size(); ++i) {
            if (!options.fixed[i]) options.init[i] = start[i];
        }
    }
    return options;
}

} // namespace hifit
