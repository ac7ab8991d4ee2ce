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

// The fits inside inference routines. A warm start (the neighbouring solution) is fast
// but can settle in another local minimum than the one pyhf's start (the model's
// suggested values) reaches, as strongly bent histosys likelihoods have several: both
// starts are fitted and the lower valid minimum kept. A fit that fails everywhere is
// retried with a larger iteration budget; only the minimizer ever marks a result valid.
inline bool better(const FitResult& a, const FitResult& b) {
    if (a.valid != b.valid) return a.valid;
    return a.twice_nll < b.twice_nll;
}

inline FitResult robust_fit(Likelihood& lh, const FitOptions& options) {
    FitResult best = fit(lh, options);
    FitOptions cold = options;
    const auto& init = lh.model().suggested_init();
    bool differs = false;
    for (std::size_t i = 0; i < init.size(); ++i) {
        if (!cold.fixed[i] && cold.init[i] != init[i]) {
            cold.init[i] = init[i];
            differs = true;
        }
    }
    if (differs) {
        FitResult r = fit(lh, cold);
        if (better(r, best)) best = std::move(r);
    }
    if (!best.valid) {
        cold.max_iterations = options.max_iterations * 8;
        FitResult r = fit(lh, cold);
        if (better(r, best)) best = std::move(r);
    }
    return best;
}

} // namespace hifit
