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

// The fits inside inference routines: when a warm-started fit does not converge, retry
// from the model's suggested start, then with a larger iteration budget; a result is
// only ever marked valid by the minimizer itself.
inline FitResult robust_fit(Likelihood& lh, const FitOptions& options) {
    FitResult best = fit(lh, options);
    if (best.valid) return best;
    FitOptions retry = options;
    const auto& init = lh.model().suggested_init();
    for (std::size_t i = 0; i < init.size(); ++i) {
        if (!retry.fixed[i]) retry.init[i] = init[i];
    }
    for (int attempt = 0; attempt < 2 && !best.valid; ++attempt) {
        retry.max_iterations = options.max_iterations * (attempt == 0 ? 1 : 8);
        FitResult r = fit(lh, retry);
        if (r.valid || r.twice_nll < best.twice_nll) best = std::move(r);
    }
    return best;
}

} // namespace hifit
