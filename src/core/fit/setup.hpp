// Fit options derived from a base (defaults filled in, one parameter fixed, warm
// starts) and the fits of the inference routines: several starting points, the
// lowest valid minimum kept.
#pragma once

#include <hifit/fit/minimizer.hpp>

#include <map>
#include <vector>

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

// A valid result beats an invalid one, then the lower -2 ln L wins.
inline bool better(const FitResult& a, const FitResult& b) {
    if (a.valid != b.valid) return a.valid;
    return a.twice_nll < b.twice_nll;
}

// The fits inside inference routines. Likelihoods with strongly bent histosys
// variations (code4p beyond +100 %) have several minima, and which one a fit reaches
// depends on its start: the fit is run from options.init, from each of `starts` (their
// values of the non-fixed parameters) and from pyhf's start (the model's suggested
// values), and the lowest valid minimum is kept. A fit that fails everywhere is
// retried with a larger iteration budget; only the minimizer ever marks a result
// valid.
FitResult robust_fit(Likelihood& lh, const FitOptions& options,
                     const std::vector<std::vector<double>>& starts = {});

// Solutions of fits with one parameter fixed, by its value; the unconditional
// solution is filed under its own best-fit value.
using Solutions = std::map<double, std::vector<double>>;

// A fit with `par` fixed at `value` that is at least as low as the warm starts from
// the unconditional solution `free`, from the known neighbours on either side and
// from the model's suggested values. Where the nearest known solution is more than
// `step` away, it is also followed there by continuation (fits at intermediate
// values, each starting from the previous one), which keeps to the branch of minima
// it started on where a direct jump can fall into another one. The solution found is
// filed in `known`.
FitResult conditional_fit(Likelihood& lh, const FitOptions& options, std::size_t par,
                          double value, const std::vector<double>& free,
                          Solutions& known, double step);

// Continuation step for a parameter: its uncertainty where known, else a twentieth
// of its range.
double continuation_step(const FitOptions& options, std::size_t par,
                         const FitResult* best = nullptr);

} // namespace hifit
