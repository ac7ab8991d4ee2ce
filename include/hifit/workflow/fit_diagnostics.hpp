// Combine's FitDiagnostics: the s+b and b-only fits, and the pre- and post-fit yields
// per channel and process with uncertainties.
#pragma once

#include <hifit/infer/scans.hpp>

#include <span>
#include <string>
#include <vector>

namespace hifit {

// Yields at one parameter point, with uncertainties by linear propagation of a
// parameter covariance (symmetrised +-1 sigma differences, as workflow/prediction).
// Samples in the model's sorted order; bins are the model's main bins.
struct YieldSet {
    std::vector<double> yields, errors;     // [sample][bin]: nsamples x nmain
    std::vector<double> total, total_err;   // [bin]
    std::vector<double> signal, signal_err; // [bin]: sum over signal samples
    std::vector<double> background, background_err;
    std::vector<double> norms, norm_errors; // [sample][channel]: nsamples x nchannels
    // [total | signal | background][channel]: 3 x nchannels
    std::vector<double> channel_sums, channel_sum_errors;
    // per channel, the bin-by-bin covariance of the total: nbins_c^2 each, back to back
    std::vector<double> total_covariance;
};

// Propagates `covariance` (npars x npars, row-major) to the yields at `pars`.
YieldSet propagate_yields(const Model& model, std::span<const double> pars,
                          std::span<const double> covariance,
                          const std::vector<bool>& signal_samples);

struct FitDiagnosticsResult {
    FitResult fit_s, fit_b;         // fit_b: the POI fixed at 0
    MinosResult poi_interval;       // MINOS on the POI of fit_s
    std::vector<double> prefit;     // pre-fit values (a gmN at its N + 1 mean)
    std::vector<double> prefit_err; // pre-fit widths (0: unconstrained or fixed)
    YieldSet yields_prefit, yields_fit_b, yields_fit_s;
    std::vector<bool> present; // [sample][channel]: the process is in the channel
    std::vector<long> aux_of;  // [par]: index of its auxiliary datum, -1 if none
    bool valid = false;
    std::string message;
};

FitDiagnosticsResult fit_diagnostics(const Model& model, std::span<const double> data,
                                     const std::vector<bool>& signal_samples,
                                     const FitOptions& base = {}, bool run_minos = true,
                                     double minos_delta = 1.0);

} // namespace hifit
