// Template post-processing arithmetic of the cabinetry workflow: the "353QH, twice"
// smoothing and its application to systematic variations.
#pragma once

#include <span>
#include <vector>

namespace hifit::templates {

// cabinetry's "353QH, twice" smoothing (ROOT's TH1::Smooth algorithm as described in
// Friedman, CERN 1974 proceedings, p. 292): running medians of 3, 5 and 3 bins,
// quadratic interpolation of flat 3-bin segments, Hanning running means (1/4, 1/2,
// 1/4), then the same on the residuals, added back ("twicing"). The result is clipped
// at 0 only if the input has no negative entry. Fewer than 3 bins: returned unchanged.
std::vector<double> smooth_353qh_twice(std::span<const double> values);

// Smooths a systematic variation the way cabinetry's post-processing does: the ratio
// variation / nominal is smoothed, multiplied back by the nominal, and rescaled so that
// the sum of the variation's yields stays unchanged. Throws InvalidArgument when the
// sizes differ. Empty nominal bins give non-finite ratios, as in cabinetry.
std::vector<double> smooth_variation_353qh_twice(std::span<const double> variation,
                                                 std::span<const double> nominal);

} // namespace hifit::templates
