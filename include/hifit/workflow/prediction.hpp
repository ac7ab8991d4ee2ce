// Expected yields per sample and their uncertainties (cabinetry's
// model_utils.prediction).
#pragma once

#include <hifit/likelihood/model.hpp>

#include <span>
#include <vector>

namespace hifit {

struct Prediction {
    std::size_t nsamples = 0, nbins = 0, nchannels = 0;
    std::vector<double> yields;     // [sample][bin]: nsamples x nbins
    std::vector<double> stdev_bins; // [sample | total][bin]: (nsamples + 1) x nbins
    std::vector<double>
        stdev_channels; // [sample | total][channel]: (nsamples + 1) x nchannels
};

// Expected main rates split by sample (samples in the model's sorted order; zero where
// a sample is absent from a channel): nsamples x nmain, row-major.
std::vector<double> expected_by_sample(const Model& model,
                                       std::span<const double> pars);

// The nominal rate of every (sample, bin), before any modifier: the samples' `data`
// as the workspace gives them, zero where a sample is absent from a channel (pyhf's
// Model.nominal_rates): nsamples x nmain, row-major. HistFactory models only; throws
// InvalidArgument for a Combine model (its processes have no pyhf nominal).
std::vector<double> nominal_by_sample(const Model& model);

// Yields at `pars` and their standard deviations from symmetrised +-1 sigma shifts of
// each parameter, combined with the correlation matrix (identity when empty), per
// sample, for the sum over samples, per bin and per channel (cabinetry's yield_stdev).
Prediction predict(const Model& model, std::span<const double> pars,
                   std::span<const double> uncertainties,
                   std::span<const double> correlation = {});

} // namespace hifit
