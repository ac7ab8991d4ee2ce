// Combine's ChannelCompatibilityCheck: one signal strength for all channels against
// one per channel.
#pragma once

#include <hifit/infer/scans.hpp>

#include <span>
#include <string>
#include <vector>

namespace hifit {

struct ChannelCompatibility {
    FitResult nominal, alternate;
    MinosResult nominal_interval;                 // of the nominal model's POI
    std::vector<MinosResult> alternate_intervals; // of each POI in `alternate_pois`
    double chi2 = 0.0;                            // 2 (NLL(nominal) - NLL(alternate))
    bool valid = false;
    std::string message;
};

// `alternate` is the same card with the signal of each channel scaled by its own POI
// (`alternate_pois`); both models share the data. MINOS intervals (profile -2 ln L
// rising by 1) when `run_minos` (Combine's --runMinos, on by default).
ChannelCompatibility channel_compatibility(
    const Model& nominal, const Model& alternate, std::span<const double> data,
    const FitOptions& nominal_options, const FitOptions& alternate_options,
    const std::vector<std::size_t>& alternate_pois, bool run_minos = true);

} // namespace hifit
