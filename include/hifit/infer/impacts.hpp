// cabinetry's parameter ranking (impacts), pre-fit widths and goodness of fit.
#pragma once

#include <hifit/fit/minimizer.hpp>
#include <hifit/likelihood/model.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace hifit {

struct ImpactResult {
    std::vector<std::size_t> pars; // ranked parameters (all free ones but the POI)
    std::vector<double> prefit_up, prefit_down, postfit_up, postfit_down; // delta POI
    // the shifted value lay outside the parameter's bounds and was clipped to them
    std::vector<bool> prefit_up_clipped, prefit_down_clipped, postfit_up_clipped,
        postfit_down_clipped;
    std::vector<double> cov_prefit,
        cov_postfit; // covariance-based estimates (+1 sigma)
    // the post-fit offsets applied (-sigma/+sigma, or the profile crossings)
    std::vector<double> postfit_down_shift, postfit_up_shift;
    // ImpactOptions::keep_fits: the refits' parameter values (empty where none ran)
    std::vector<std::vector<double>> postfit_down_fit, postfit_up_fit;
    FitResult best;
    int refits = 0; // fits run (shifts clipped onto the best fit need none)
    int failed_fits = 0;
    int clipped = 0; // shifts clipped to a bound
    bool valid = false;
    std::string message; // the refits that did not converge, by parameter and shift
};

struct ImpactOptions {
    bool prefit = true; // cabinetry's pre-fit shifts (Combine's impacts have none)
    // > 0: post-fit shifts at the profile-likelihood crossings where -2 ln L rises
    // by this much (Combine's MultiDimFit --algo impact), not at -+ the Hesse sigma
    double profile_delta = 0.0;
    bool keep_fits = false; // keep the post-fit refits (impacts on other POIs)
    // only the ranked parameters [begin, end) of `pars` (the others stay 0, their
    // counts out of refits/failed_fits/clipped): ranges run anywhere (hifit.executor),
    // a parameter's numbers do not depend on the range it ran in
    std::size_t begin = 0, end = static_cast<std::size_t>(-1);
};

// cabinetry's ranking: each parameter fixed at best +- pre-fit and +- post-fit sigma,
// refit, POI shift recorded; parameters spread over `jobs` threads. A shifted value
// beyond the parameter's bounds (a staterror gamma below 0) is clipped to the bound,
// as Combine's impacts do, and flagged; a shift clipped back onto the best fit has
// no impact.
ImpactResult impacts(const Model& model, std::span<const double> data,
                     const FitOptions& base = {}, int jobs = 1,
                     const FitResult* best = nullptr, const ImpactOptions& how = {});

// Pre-fit widths of the constraint terms (Gaussian sigma, Poisson 1/sqrt(tau)); 0 for
// unconstrained and fixed parameters (cabinetry's prefit_uncertainties).
std::vector<double> prefit_uncertainties(const Model& model);

struct GoodnessOfFit {
    double twice_delta_nll = 0.0; // -2 ln(L_best / L_saturated)
    double ndof = 0.0;
    double p_value = 0.0;
};

// Saturated-model test as cabinetry computes it.
GoodnessOfFit goodness_of_fit(const Model& model, std::span<const double> data,
                              const FitResult& best,
                              const std::vector<bool>& fixed = {});

} // namespace hifit
