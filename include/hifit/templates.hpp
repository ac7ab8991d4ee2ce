// Template post-processing arithmetic of the cabinetry workflow (smoothing of systematic
// variations, the NormPlusShape split into a normalisation and a shape part).
#pragma once

#include <vector>

namespace hifit::templates {

// cabinetry's "353QH, twice" smoothing (a port of ROOT's TH1::Smooth algorithm as
// described in Friedman, CERN 1974): running medians 3, 5, 3, quadratic interpolation of
// flat segments, Hanning smoothing, then the same on the residuals, added back.
// Fewer than 3 bins are returned unchanged.
std::vector<double> smooth_353qh_twice(const std::vector<double>& values);

} // namespace hifit::templates
