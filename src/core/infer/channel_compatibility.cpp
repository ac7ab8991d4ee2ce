// Combine's ChannelCompatibilityCheck: nominal and per-channel (alternate) fits.
#include <hifit/errors.hpp>
#include <hifit/infer/channel_compatibility.hpp>

#include "fit/setup.hpp"
#include "infer/messages.hpp"

namespace hifit {

ChannelCompatibility
channel_compatibility(const Model& nominal, const Model& alternate,
                      std::span<const double> data, const FitOptions& nominal_options,
                      const FitOptions& alternate_options,
                      const std::vector<std::size_t>& alternate_pois, bool run_minos) {
    if (!nominal.poi_index())
        throw InvalidArgument("the nominal model has no parameter of interest");
    for (std::size_t p : alternate_pois)
        if (p >= alternate.npars())
            throw InvalidArgument("alternate POI index out of range");
    ChannelCompatibility out;
    const FitOptions nom = resolved(nominal, nominal_options);
    const FitOptions alt = resolved(alternate, alternate_options);
    Likelihood lh_nom(nominal, data), lh_alt(alternate, data);
    out.nominal = robust_fit(lh_nom, nom);
    out.alternate = robust_fit(lh_alt, alt);
    out.message = fit_failures(
        {{"nominal fit", &out.nominal}, {"alternate fit", &out.alternate}});
    if (run_minos && out.message.empty()) {
        out.nominal_interval =
            minos(nominal, data, out.nominal, *nominal.poi_index(), 1.0, nom);
        if (out.nominal_interval.improved_best) out.nominal = out.nominal_interval.best;
        for (std::size_t p : alternate_pois) {
            out.alternate_intervals.push_back(
                minos(alternate, data, out.alternate, p, 1.0, alt));
            if (out.alternate_intervals.back().improved_best)
                out.alternate = out.alternate_intervals.back().best;
        }
        if (!out.nominal_interval.valid)
            append_message(out.message,
                           "MINOS on the nominal POI: " + out.nominal_interval.message);
        for (std::size_t i = 0; i < alternate_pois.size(); ++i)
            if (!out.alternate_intervals[i].valid)
                append_message(out.message,
                               "MINOS on " + alternate.par_names()[alternate_pois[i]] +
                                   ": " + out.alternate_intervals[i].message);
    }
    out.chi2 = out.nominal.twice_nll - out.alternate.twice_nll;
    out.valid = out.message.empty();
    return out;
}

} // namespace hifit
