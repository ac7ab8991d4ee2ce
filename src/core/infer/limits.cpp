// Upper limits on the POI and discovery significance from the asymptotic calculator.
#include <hifit/errors.hpp>
#include <hifit/infer/impacts.hpp>
#include <hifit/infer/limits.hpp>
#include <hifit/infer/scans.hpp>
#include <hifit/infer/stats.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include "infer/messages.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>

namespace hifit {

namespace {

// Hypotests cached by mu; `curve(r)` picks the observed (-1) or an expected CLs.
class CurveCache {
  public:
    explicit CurveCache(AsymptoticCalculator& calc) : calc_(calc) {}

    const HypoTestResult& at(double mu) {
        auto it = points_.find(mu);
        if (it == points_.end()) it = points_.emplace(mu, calc_.hypotest(mu)).first;
        return it->second;
    }
    static double value(const HypoTestResult& r, int curve) {
        return curve < 0 ? r.cls_obs : r.cls_exp[static_cast<std::size_t>(curve)];
    }
    const std::map<double, HypoTestResult>& points() const { return points_; }

  private:
    AsymptoticCalculator& calc_;
    std::map<double, HypoTestResult> points_;
};

// Brent's method on f(mu) = CLs(mu) - level in [a, b] with f(a) > 0 > f(b);
// `half_width`, if given, receives the half-width of the last bracket (the accuracy).
double brent_root(const std::function<double(double)>& f, double a, double b, double fa,
                  double fb, double rtol, double* half_width = nullptr) {
    double c = a, fc = fa, d = b - a, e = d;
    for (int iter = 0; iter < 200; ++iter) {
        if ((fb > 0) == (fc > 0)) {
            c = a;
            fc = fa;
            d = e = b - a;
        }
        if (std::abs(fc) < std::abs(fb)) {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        const double tol = 2e-15 * std::abs(b) + 0.5 * rtol * std::abs(b);
        const double m = 0.5 * (c - b);
        if (half_width) *half_width = fb == 0.0 ? 0.0 : std::abs(m);
        if (std::abs(m) <= tol || fb == 0.0) return b;
        if (std::abs(e) >= tol && std::abs(fa) > std::abs(fb)) {
            // inverse quadratic interpolation or secant
            double p, q;
            const double s = fb / fa;
            if (a == c) {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                const double qa = fa / fc, r = fb / fc;
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0));
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if (p > 0) q = -q;
            p = std::abs(p);
            if (2.0 * p < std::min(3.0 * m * q - std::abs(tol * q), std::abs(e * q))) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += std::abs(d) > tol ? d : (m > 0 ? tol : -tol);
        fb = f(b);
    }
    return b;
}

std::string collect_failures(const std::map<double, HypoTestResult>& points) {
    std::string out;
    for (const auto& [mu, r] : points) {
        if (!r.valid)
            append_message(out, "mu=" + std::to_string(mu) + ": " + r.message);
    }
    return out;
}

// What a limit's number alone does not say: no crossing up to `searched` (no
// sensitivity, the limit is NaN) or a crossing beyond the POI's upper bound.
std::string limit_notes(const UpperLimitResult& r, double poi_bound, double searched) {
    auto number = [](double x) {
        char text[32];
        std::snprintf(text, sizeof text, "%g", x);
        return std::string(text);
    };
    static const char* const names[5] = {"expected -2 sigma", "expected -1 sigma",
                                         "expected median", "expected +1 sigma",
                                         "expected +2 sigma"};
    std::string none, beyond;
    auto check = [&](const char* name, double limit) {
        std::string& list = std::isnan(limit) ? none : beyond;
        if (std::isnan(limit) || limit > poi_bound)
            list += (list.empty() ? "" : ", ") + std::string(name);
    };
    check("observed", r.observed);
    for (std::size_t i = 0; i < 5; ++i) check(names[i], r.expected[i]);
    std::string out;
    if (!none.empty())
        out =
            "no sensitivity: CLs stays above the level up to mu = " + number(searched) +
            " (" + none + ")";
    if (!beyond.empty())
        append_message(out, "beyond the POI's upper bound " + number(poi_bound) + " (" +
                                beyond + ")");
    return out;
}

} // namespace

UpperLimitResult upper_limit(AsymptoticCalculator& calc, double level, double rtol) {
    if (calc.stat() == TestStat::q0) {
        throw InvalidArgument("upper limits need the qmu or qmu_tilde test statistic");
    }
    // pyhf (toms748 on each CLs curve): every evaluation is a full hypotest, kept in
    // the result's points (cabinetry plots them). Combine (AsymptoticLimits): the
    // expected limits are crossings of the Asimov profile likelihood alone,
    // sqrt(q_A(mu)) = N + Phi^-1(1 - level Phi(N)), the same equation as CLs_exp =
    // level, nearly linear in mu.
    const bool combine = calc.convention() == Convention::combine;
    CurveCache cache(calc);
    std::map<double, double> sqrt_qa; // Asimov-only evaluations
    std::string asimov_failure;
    auto sqrt_qa_at = [&](double mu) {
        if (auto it = sqrt_qa.find(mu); it != sqrt_qa.end()) return it->second;
        std::string failure;
        const double v = std::sqrt(calc.asimov_qmu(mu, &failure));
        if (!failure.empty() && asimov_failure.empty())
            asimov_failure = "Asimov at mu=" + std::to_string(mu) + ": " + failure;
        return sqrt_qa.emplace(mu, v).first->second;
    };
    const std::array<double, 5> sigmas = expected_band_sigmas(calc.convention());
    std::array<double, 5> targets{};
    for (std::size_t i = 0; i < 5; ++i)
        targets[i] =
            sigmas[i] - stats::normal_quantile(level * stats::normal_cdf(sigmas[i]));

    // Bracket: CLs is 1 at mu = 0 and falls with mu; the upper end (and the POI bound
    // with it) doubles until every curve is below the level. pyhf starts at the POI
    // bound. Combine's first guess is 1.5 times the largest expected limit that a
    // linear sqrt(q_A) predicts: fits far out in the tail of the likelihood (r up to
    // 20) are slow and fragile.
    const double poi_bound = calc.poi_upper_bound();
    double hi = poi_bound;
    if (combine) {
        const double probe = 0.1 * hi;
        if (const double slope = sqrt_qa_at(probe) / probe; slope > 0.0)
            hi = std::min(hi, 1.5 * targets[4] / slope);
    }
    auto below_everywhere = [&](const HypoTestResult& r) {
        if (r.cls_obs > level) return false;
        for (double v : r.cls_exp)
            if (v > level) return false;
        return true;
    };
    for (int i = 0; i < 20 && !below_everywhere(cache.at(hi)); ++i) {
        hi *= 2.0;
        if (hi > calc.poi_upper_bound()) calc.set_poi_upper_bound(hi);
    }

    // Root of f (positive at 0, f(0) = f0) in the tightest bracket among the values
    // known so far; NaN if f stays positive up to hi.
    auto root = [&](const std::function<double(double)>& f, double f0,
                    const std::map<double, double>& known, double* err = nullptr) {
        double a = 0.0, b = hi, fa = f0, fb = f(hi);
        for (const auto& [mu, v] : known) {
            if (mu > hi) continue;
            if (v > 0 && mu > a) a = mu, fa = v;
            if (v <= 0 && mu < b) b = mu, fb = v;
        }
        if (fb > 0) return std::nan("");
        if (err) *err = 0.0;
        return fb < 0 ? brent_root(f, a, b, fa, fb, rtol, err) : b;
    };
    auto curve_root = [&](int curve, double* err = nullptr) {
        std::map<double, double> known;
        for (const auto& [mu, r] : cache.points())
            known.emplace(mu, CurveCache::value(r, curve) - level);
        return root(
            [&](double mu) { return CurveCache::value(cache.at(mu), curve) - level; },
            1.0 - level, known, err);
    };

    UpperLimitResult out;
    out.convention = calc.convention();
    out.observed = curve_root(-1, &out.observed_err);
    for (std::size_t i = 0; i < 5; ++i) {
        double limit;
        if (combine) {
            for (const auto& [mu, r] : cache.points())
                sqrt_qa.emplace(mu, std::sqrt(r.q_asimov));
            std::map<double, double> known;
            for (const auto& [mu, v] : sqrt_qa) known.emplace(mu, targets[i] - v);
            limit = root([&](double mu) { return targets[i] - sqrt_qa_at(mu); },
                         targets[i], known);
        } else {
            limit = curve_root(static_cast<int>(i));
        }
        out.expected[i] = limit;
    }
    out.notes = limit_notes(out, poi_bound, hi);
    for (const auto& [mu, r] : cache.points()) out.points.push_back(r);
    append_message(out.message, collect_failures(cache.points()));
    append_message(out.message, asimov_failure);
    out.valid = out.message.empty();
    return out;
}

std::vector<HypoTestResult> limit_scan_range(const AsymptoticCalculator& calc,
                                             std::span<const double> mus) {
    return calc.hypotests(mus);
}

UpperLimitResult upper_limit_scan(AsymptoticCalculator& calc,
                                  std::span<const double> mus, double level) {
    std::vector<double> sorted(mus.begin(), mus.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<HypoTestResult> points;
    points.reserve(sorted.size());
    for (std::size_t s = 0; s < sorted.size(); s += kLimitScanSegment) {
        const std::size_t n = std::min(kLimitScanSegment, sorted.size() - s);
        std::vector<HypoTestResult> part =
            limit_scan_range(calc, std::span<const double>(sorted).subspan(s, n));
        std::move(part.begin(), part.end(), std::back_inserter(points));
    }
    UpperLimitResult out = limit_from_scan(std::move(points), level);
    out.convention = calc.convention();
    return out;
}

UpperLimitResult limit_from_scan(std::vector<HypoTestResult> points, double level) {
    UpperLimitResult out;
    out.points = std::move(points);
    std::stable_sort(out.points.begin(), out.points.end(),
                     [](const auto& x, const auto& y) { return x.mu < y.mu; });
    if (!out.points.empty()) out.convention = out.points.front().convention;
    // Linear interpolation of mu at CLs = level on each curve (first downward
    // crossing).
    auto crossing = [&](int curve) {
        for (std::size_t i = 1; i < out.points.size(); ++i) {
            const double y0 = CurveCache::value(out.points[i - 1], curve);
            const double y1 = CurveCache::value(out.points[i], curve);
            if (y0 >= level && y1 < level) {
                const double x0 = out.points[i - 1].mu, x1 = out.points[i].mu;
                return x0 + (level - y0) * (x1 - x0) / (y1 - y0);
            }
        }
        return std::nan("");
    };
    out.observed = crossing(-1);
    for (int i = 0; i < 5; ++i) out.expected[static_cast<std::size_t>(i)] = crossing(i);
    std::map<double, HypoTestResult> by_mu;
    for (const auto& r : out.points) by_mu.emplace(r.mu, r);
    out.message = collect_failures(by_mu);
    if (std::isnan(out.observed)) {
        append_message(out.message,
                       "the observed CLs does not cross the level in the scan");
    }
    out.valid = out.message.empty();
    return out;
}

SignificanceResult significance(const Model& model, std::span<const double> data,
                                const FitOptions& base, Convention convention,
                                ExpectedAsimov expected) {
    SignificanceResult out;
    out.convention = resolve(convention, model);
    out.expected = expected != ExpectedAsimov::automatic   ? expected
                   : out.convention == Convention::combine ? ExpectedAsimov::prefit
                                                           : ExpectedAsimov::postfit;
    const TestStatResult obs = test_statistic(model, data, 0.0, TestStat::q0, base);
    FitResult generating;
    const std::vector<double> asimov =
        asimov_data(model, data, 1.0, out.expected, base, &generating);
    // At its generating point the Asimov likelihood is the saturated one: the warm
    // start is the free minimum.
    FitOptions free = base;
    free.init = generating.bestfit; // POI = 1
    free.compute_covariance = false;
    const FitResult free_asimov = fit(model, asimov, free);
    const TestStatResult exp =
        test_statistic(model, asimov, 0.0, TestStat::q0, base,
                       free_asimov.valid ? &free_asimov : nullptr);
    out.q0_obs = obs.value;
    out.q0_asimov = exp.value;
    out.observed_z = std::sqrt(out.q0_obs);
    out.expected_z = std::sqrt(out.q0_asimov);
    out.observed_p = stats::normal_sf(out.observed_z);
    out.expected_p = stats::normal_sf(out.expected_z);
    out.message = fit_failures({{"free fit to data", &obs.free_fit},
                                {"background-only fit to data", &obs.fixed_fit},
                                {"Asimov generation fit", &generating},
                                {"free fit to Asimov", &exp.free_fit},
                                {"background-only fit to Asimov", &exp.fixed_fit}});
    out.valid = out.message.empty();
    return out;
}

} // namespace hifit
