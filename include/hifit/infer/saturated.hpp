// Combine's saturated goodness-of-fit statistic (GoodnessOfFit --algo saturated).
#pragma once

#include <hifit/fit/minimizer.hpp>

#include <span>
#include <string>
#include <vector>

namespace hifit {

struct SaturatedStatistics {
    std::vector<double> statistic; // one per data set
    std::vector<char> valid;       // the best fit of that data set converged
    FitResult first_fit;           // the best fit of the first data set
    int failed = 0;
    std::string message; // the first failure
};

// 2 (NLL(best fit) - NLL(saturated)) for each data set. Combine's saturated model keeps
// the constraint terms and minimises them too, so they sit at their maxima and the
// statistic is the deviance of the main terms plus the constraint pulls at the best
// fit: Likelihood::twice_deviance, summed term by term. `datasets` holds n data sets
// of nmain + naux entries each, back to back (the observed data, toys).
SaturatedStatistics saturated_statistics(const Model& model,
                                         std::span<const double> datasets,
                                         const FitOptions& base = {}, int jobs = 1);

} // namespace hifit
