// Signal grids: one asymptotic hypothesis test per patch from warm-started fits.
#include <hifit/errors.hpp>
#include <hifit/infer/grid.hpp>

#include "fit/setup.hpp"
#include "infer/asymptotic.hpp"
#include "infer/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <optional>

namespace hifit {

namespace {

// Fits closer than this in -2 ln L count as the same minimum; the minimizer stops at an
// estimated distance of 1e-9.
constexpr double kSameMinimum = 1e-6;

// The background-only workspace's fit to data by parameter name; empty when that
// workspace has no model of its own or its fit fails (points then start from the
// initial values).
std::unordered_map<std::string, double> background_fit(const Workspace& background,
                                                       ModelOptions options) {
    std::unordered_map<std::string, double> out;
    options.poi_name = std::string(); // the signal's POI scales nothing here
    try {
        const Model model = background.model(options);
        const std::vector<double> data = background.data(model);
        Likelihood lh(model, data);
        FitOptions fit_options = resolved(model, {});
        fit_options.compute_covariance = false;
        const FitResult best = robust_fit(lh, fit_options);
        if (!best.valid) return out;
        for (std::size_t i = 0; i < model.npars(); ++i)
            out.emplace(model.par_names()[i], best.bestfit[i]);
    } catch (const Error&) {
        out.clear();
    }
    return out;
}

// pyhf's asymptotic hypotest (qmu, qmu_tilde) from four minima, each fit started from
// a related solution: the fit to data at POI = 0, which generates the Asimov data,
// from `start`; the free fit to data from that solution; the fits at POI = mu from
// the two free fits and from pyhf's start (the generating point is the free fit to
// the Asimov data). Nothing when a fit fails or two fits contradict each other (a
// conditional minimum below the free one).
std::optional<HypoTestResult> warm_hypotest(const Model& model,
                                            std::span<const double> data, double mu,
                                            TestStat stat,
                                            const std::vector<double>& start) {
    const std::size_t poi = *model.poi_index();
    FitOptions options = resolved(model, {});
    options.compute_covariance = false;
    if (options.fixed[poi]) return std::nullopt;
    Likelihood lh(model, data);
    const FitResult generating = fit(lh, fixed_at(options, poi, 0.0, start));
    if (!generating.valid) return std::nullopt;
    const FitResult free = fit(lh, warm(options, generating.bestfit));
    if (!free.valid || generating.twice_nll < free.twice_nll - kSameMinimum)
        return std::nullopt;
    // Signal pulls the nuisance parameters at POI = mu into another basin for some
    // patches: the fit also runs from pyhf's start (the model's initial values).
    const FitResult fixed = robust_fit(lh, fixed_at(options, poi, mu, free.bestfit));
    if (!fixed.valid || fixed.twice_nll < free.twice_nll - kSameMinimum)
        return std::nullopt;

    std::vector<double> asimov(model.nmain() + model.naux());
    lh.expected_data(generating.bestfit, asimov);
    Likelihood lh_asimov(model, asimov);
    // The Asimov data are the expected data at the generating point, so the
    // likelihood there equals the saturated one, its lowest value: that point is the
    // free fit to the Asimov data, exactly.
    FitResult free_asimov = generating;
    free_asimov.twice_nll = lh_asimov.twice_nll(generating.bestfit);
    const FitResult fixed_asimov =
        robust_fit(lh_asimov, fixed_at(options, poi, mu, free_asimov.bestfit));
    if (!fixed_asimov.valid ||
        fixed_asimov.twice_nll < free_asimov.twice_nll - kSameMinimum)
        return std::nullopt;

    HypoTestResult r;
    r.mu = mu;
    r.convention = resolve(Convention::automatic, model);
    r.q_obs =
        statistic_value(stat, mu, free.bestfit[poi], fixed.twice_nll, free.twice_nll);
    r.q_asimov = statistic_value(stat, mu, free_asimov.bestfit[poi],
                                 fixed_asimov.twice_nll, free_asimov.twice_nll);
    asymptotic_cls(r, stat);
    r.valid = true;
    return r;
}

} // namespace

SignalGrid::SignalGrid(Workspace background, PatchSet patchset, GridOptions options)
    : background_(std::move(background)), patchset_(std::move(patchset)),
      options_(std::move(options)) {
    start_ = background_fit(background_, options_.model);
}

HypoTestResult SignalGrid::point(std::string_view patch) const {
    const Workspace ws = patchset_.apply(background_, patch);
    const Model model = ws.model(options_.model);
    const std::vector<double> data = ws.data(model);
    if (!model.poi_index()) {
        throw InvalidArgument(ws.source() + ": the signal grid needs a model with a "
                                            "parameter of interest");
    }
    if (options_.stat == TestStat::qmu || options_.stat == TestStat::qmu_tilde) {
        std::vector<double> start = model.suggested_init();
        const auto& bounds = model.suggested_bounds();
        for (std::size_t i = 0; i < start.size(); ++i) {
            const auto it = start_.find(model.par_names()[i]);
            if (it != start_.end())
                start[i] = std::clamp(it->second, bounds[i].first, bounds[i].second);
        }
        if (auto r = warm_hypotest(model, data, options_.mu, options_.stat, start))
            return *r;
    }
    AsymptoticCalculator calc(model, data, options_.stat);
    return calc.hypotest(options_.mu);
}

std::vector<HypoTestResult> SignalGrid::run(const std::vector<std::string>& patches,
                                            int jobs) const {
    std::vector<HypoTestResult> out(patches.size());
    // Points differ in cost (light signals need longer fits): each thread takes the
    // next point when done, instead of a fixed share.
    const int threads = resolve_jobs(jobs, patches.size());
    std::atomic<std::size_t> next{0};
    parallel_chunks(static_cast<std::size_t>(threads), threads,
                    [&](std::size_t, std::size_t) {
                        for (std::size_t i = next++; i < patches.size(); i = next++)
                            out[i] = point(patches[i]);
                    });
    return out;
}

std::vector<HypoTestResult> SignalGrid::run_range(std::size_t begin, std::size_t end,
                                                  int jobs) const {
    const auto& names = patchset_.names();
    if (begin > end || end > names.size())
        throw InvalidArgument("grid range [" + std::to_string(begin) + ", " +
                              std::to_string(end) + ") is outside the " +
                              std::to_string(names.size()) + " patches");
    return run({names.begin() + static_cast<std::ptrdiff_t>(begin),
                names.begin() + static_cast<std::ptrdiff_t>(end)},
               jobs);
}

} // namespace hifit
