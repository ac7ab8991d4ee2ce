// CLs upper limits (root finding or a fixed scan) and discovery significances.
#pragma once

#include <hifit/infer/test_statistics.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace hifit {

struct UpperLimitResult {
    double observed = 0.0;
    double observed_err = 0.0; // half-width of the observed search's last bracket
    std::array<double, 5> expected{};         // in the order of HypoTestResult::cls_exp
    std::vector<HypoTestResult> points;       // every hypotest evaluated, sorted by mu
    Convention convention = Convention::pyhf; // of the expected limits
    bool valid = false;                       // every fit converged
    std::string message;                      // the fits that did not
    std::string notes; // limits that do not exist (NaN) or lie beyond the POI bound
};

// Upper limits at CLs = level by bracketed root finding (Brent): on the observed CLs
// curve, and for each expected limit on the profile crossing of the Asimov likelihood,
// sqrt(q_A(mu)) = N + Phi^-1(1 - level Phi(N)) (the same equation as CLs_exp = level,
// and Combine's findExpectedLimitFromCrossing, solved to rtol instead of Combine's
// rRelAcc = 0.5 %).
UpperLimitResult upper_limit(AsymptoticCalculator& calc, double level = 0.05,
                             double rtol = 1e-6);
// Limits read off a fixed scan by linear interpolation (pyhf's linear_grid_scan):
// limit_scan_range on consecutive segments of kLimitScanSegment sorted mus, then
// limit_from_scan. The numbers depend on the mus alone, not on where a segment ran.
UpperLimitResult upper_limit_scan(AsymptoticCalculator& calc,
                                  std::span<const double> mus, double level = 0.05);

// Points per segment of a limit scan: warm starts stay inside a segment.
inline constexpr std::size_t kLimitScanSegment = 8;
// The hypotests of one segment of a scan (AsymptoticCalculator::hypotests: warm
// starts only inside `mus`; thread-safe on a shared calculator).
std::vector<HypoTestResult> limit_scan_range(const AsymptoticCalculator& calc,
                                             std::span<const double> mus);
// The limits from a scan's hypotests: sorted by mu, CLs = level interpolated
// linearly on each curve (first downward crossing), failed fits in the message.
UpperLimitResult limit_from_scan(std::vector<HypoTestResult> points,
                                 double level = 0.05);

struct SignificanceResult {
    double observed_p = 0.0, observed_z = 0.0;
    double expected_p = 0.0, expected_z = 0.0;
    double q0_obs = 0.0, q0_asimov = 0.0;
    Convention convention = Convention::pyhf;
    ExpectedAsimov expected = ExpectedAsimov::postfit;
    bool valid = false;
    std::string message;
};

// Discovery significance with q0 (mu-hat >= 0 counts, as in pyhf and Combine):
// Z = sqrt(q0), never through the p-value, so Z stays finite where p underflows;
// p = 1 - Phi(Z). Expected: the same on the Asimov data set at mu = 1.
SignificanceResult significance(const Model& model, std::span<const double> data,
                                const FitOptions& base = {},
                                Convention convention = Convention::automatic,
                                ExpectedAsimov expected = ExpectedAsimov::automatic);

} // namespace hifit
