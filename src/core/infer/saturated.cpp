// Combine's saturated goodness-of-fit statistic over a batch of data sets.
#include <hifit/errors.hpp>
#include <hifit/infer/saturated.hpp>

#include "fit/setup.hpp"
#include "infer/messages.hpp"
#include "infer/parallel.hpp"

namespace hifit {

SaturatedStatistics saturated_statistics(const Model& model,
                                         std::span<const double> datasets,
                                         const FitOptions& base, int jobs) {
    const std::size_t width = model.nmain() + model.naux();
    if (datasets.empty() || datasets.size() % width != 0)
        throw InvalidArgument("data sets must hold a multiple of " +
                              std::to_string(width) + " entries");
    const std::size_t n = datasets.size() / width;
    FitOptions options = resolved(model, base);
    SaturatedStatistics out;
    out.statistic.assign(n, 0.0);
    out.valid.assign(n, 0);
    std::vector<FitResult> fits(n);
    parallel_chunks(n, jobs, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
            const std::span<const double> data = datasets.subspan(i * width, width);
            Likelihood lh(model, data);
            FitOptions o = options;
            o.compute_covariance = i == 0 && base.compute_covariance;
            fits[i] = robust_fit(lh, o);
            // from the fit's own minimum: its reported best fit carries the closed-form
            // values of profiled parameters, at which the likelihood still counts
            // their constraints
            out.statistic[i] = fits[i].twice_nll - lh.twice_nll_saturated();
            out.valid[i] = fits[i].valid;
        }
    });
    for (std::size_t i = 0; i < n; ++i) {
        if (out.valid[i]) continue;
        ++out.failed;
        if (out.message.empty())
            out.message = (i == 0 ? std::string("fit to data set 0: ")
                                  : "fit to data set " + std::to_string(i) + ": ") +
                          fits[i].message;
    }
    out.first_fit = std::move(fits[0]);
    return out;
}

} // namespace hifit
