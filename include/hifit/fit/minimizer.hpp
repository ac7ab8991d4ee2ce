// Maximum-likelihood fits: a bounded trust-region Newton minimizer on the exact
// Hessian (Fisher-information steps first where the model offers them).
#pragma once

#include <hifit/likelihood/model.hpp>

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace hifit {

// How the minimizer holds the Hessian: as a dense npars x npars matrix, or in blocks
// (global parameters, per-bin parameters such as staterror and their coupling) with
// memory and time linear in the number of bins. `automatic` takes the block path for
// HistFactory models with at least 256 per-bin parameters (where it is faster).
enum class HessianPath { automatic, dense, block };

struct FitOptions {
    std::vector<double> init;                      // empty: the model's suggested init
    std::vector<std::pair<double, double>> bounds; // empty: suggested bounds
    std::vector<bool> fixed;                       // empty: suggested fixed flags
    int max_iterations = 500;
    double edm_tolerance = 1e-9; // estimated distance to minimum, in -2 ln L units
    bool compute_covariance = true;
    HessianPath hessian = HessianPath::automatic;
};

enum class FitStatus {
    converged,
    max_iterations,   // the iteration limit was reached before the EDM goal
    no_progress,      // no step lowered the objective any more, EDM above goal
    non_finite,       // the objective is NaN or infinite at the starting point
    covariance_failed // converged, but the Hessian of the free parameters (those
                      // neither fixed nor at a bound) is not positive definite
};

const char* to_string(FitStatus status);

// A minimum may sit on the boundary of the box: a parameter pinned at a bound by a
// gradient pointing outward (a POI at 0 for a deficit, a normalisation at its limit)
// is `at_bound`. The covariance is then the inverse Hessian of the remaining free
// parameters (the Hessian of the whole set is legitimately indefinite there), and
// the at-bound parameter gets the one-sided width towards the inside where the local
// quadratic profile rises by 1 (its MINOS interval, to second order), capped at the
// other bound. A parameter the likelihood does not depend on at all (a POI scaling
// no process) is `no_effect`: left at its start, outside the covariance.
struct FitResult {
    std::vector<double> bestfit;
    std::vector<double> uncertainty; // sqrt(diag(cov)); 0 for fixed / no_effect
    std::vector<double> covariance;  // npars x npars row-major; 0 rows for fixed
    std::vector<double> correlation; // npars x npars row-major; 0 rows for fixed
    // Empty: covariance and correlation cover every parameter (npars x npars).
    // Otherwise they are m x m over these parameters only: fits of models with more
    // than 4096 parameters of which many are per-bin (staterror, shapesys) give the
    // covariance of the global parameters (POI, normsys, lumi...) and, for each
    // per-bin parameter, only its uncertainty (the diagonal of the inverse Hessian).
    std::vector<std::size_t> covariance_params;
    std::vector<bool> at_bound;  // at a bound with an outward gradient
    std::vector<bool> no_effect; // -2 ln L does not depend on it
    double twice_nll = 0.0;
    double edm = 0.0;
    bool valid = false;
    FitStatus status = FitStatus::non_finite;
    std::string message;
    int iterations = 0;
    int evaluations = 0;
    double wall_time = 0.0; // seconds
};

// Minimizes -2 ln L of `likelihood` (its current data).
FitResult fit(Likelihood& likelihood, const FitOptions& options = {});
FitResult fit(const Model& model, std::span<const double> data,
              const FitOptions& options = {});

} // namespace hifit
