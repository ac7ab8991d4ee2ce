// Fits with several starting points: robust_fit and conditional_fit.
#include "fit/setup.hpp"

#include <algorithm>
#include <cmath>

namespace hifit {

FitResult robust_fit(Likelihood& lh, const FitOptions& options,
                     const std::vector<std::vector<double>>& starts) {
    FitResult best = fit(lh, options);
    std::vector<std::vector<double>> tried{options.init};
    auto try_from = [&](const FitOptions& o) {
        if (std::find(tried.begin(), tried.end(), o.init) != tried.end()) return;
        tried.push_back(o.init);
        FitResult r = fit(lh, o);
        if (better(r, best)) best = std::move(r);
    };
    for (const auto& start : starts) try_from(warm(options, start));
    FitOptions cold = warm(options, lh.model().suggested_init());
    try_from(cold);
    if (!best.valid) {
        cold.max_iterations = options.max_iterations * 8;
        FitResult r = fit(lh, cold);
        if (better(r, best)) best = std::move(r);
    }
    return best;
}

namespace {

// The known solutions next to `value`: the nearest below and the nearest above (or at).
std::vector<std::pair<double, const std::vector<double>*>>
neighbours(const Solutions& known, double value) {
    std::vector<std::pair<double, const std::vector<double>*>> out;
    auto above = known.lower_bound(value);
    if (above != known.begin()) {
        const auto below = std::prev(above);
        out.emplace_back(below->first, &below->second);
    }
    if (above != known.end()) out.emplace_back(above->first, &above->second);
    return out;
}

// The solution at `value` reached from `start` (the solution at `from`) through fits
// at intermediate values at most `step` apart (eight at most); empty if one fails.
std::vector<double> continued(Likelihood& lh, const FitOptions& options,
                              std::size_t par, double from, double value,
                              std::vector<double> start, double step) {
    const double distance = std::abs(value - from);
    const int between = std::min(8, static_cast<int>(std::ceil(distance / step)) - 1);
    for (int k = 1; k <= between; ++k) {
        const double at = from + (value - from) * k / (between + 1);
        const FitResult r = fit(lh, fixed_at(options, par, at, start));
        if (!r.valid) return {};
        start = r.bestfit;
    }
    return start;
}

} // namespace

FitResult conditional_fit(Likelihood& lh, const FitOptions& options, std::size_t par,
                          double value, const std::vector<double>& free,
                          Solutions& known, double step) {
    std::vector<std::vector<double>> starts;
    const auto near = neighbours(known, value);
    for (const auto& [at, solution] : near) starts.push_back(*solution);
    if (!near.empty() && step > 0) {
        const auto& [from, solution] = *std::min_element(
            near.begin(), near.end(), [&](const auto& a, const auto& b) {
                return std::abs(a.first - value) < std::abs(b.first - value);
            });
        if (std::abs(value - from) > step) {
            std::vector<double> end =
                continued(lh, options, par, from, value, *solution, step);
            if (!end.empty()) starts.push_back(std::move(end));
        }
    }
    FitResult r = robust_fit(lh, fixed_at(options, par, value, free), starts);
    if (r.valid) known[value] = r.bestfit;
    return r;
}

double continuation_step(const FitOptions& options, std::size_t par,
                         const FitResult* best) {
    if (best && par < best->uncertainty.size() && best->uncertainty[par] > 0)
        return best->uncertainty[par];
    const auto [lo, hi] = options.bounds[par];
    return std::isfinite(hi - lo) ? (hi - lo) / 20.0 : 0.0;
}

} // namespace hifit
