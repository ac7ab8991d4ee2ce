// Maximum-likelihood fits: a bounded trust-region Newton minimizer on the exact
// Hessian.
#pragma once

#include <hifit/model.hpp>

#include <span>
#include <string>
#include <utility>
#include <vector>

namespace hifit {

struct FitOptions {
    std::vector<double> init;                      // empty: the model's suggested init
    std::vector<std::pair<double, double>> bounds; // empty: suggested bounds
    std::vector<bool> fixed;                       // empty: suggested fixed flags
    int max_iterations = 500;
    double edm_tolerance = 1e-9; // estimated distance to minimum, in -2 ln L units
    bool compute_covariance = true;
};

enum class FitStatus {
    converged,
    max_iterations,   // the iteration limit was reached before the EDM goal
    no_progress,      // no step lowered the objective any more, EDM above goal
    non_finite,       // the objective is NaN or infinite at the starting point
    covariance_failed // converged, but the Hessian at the minimum is not positive
                      // definite
};

const char* to_string(FitStatus status);

struct FitResult {
    std::vector<double> bestfit;
    std::vector<double> uncertainty; // sqrt(diag(cov)); 0 for fixed parameters
    std::vector<double> covariance;  // npars x npars row-major; 0 rows for fixed
    std::vector<double> correlation; // npars x npars row-major; 0 rows for fixed
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
