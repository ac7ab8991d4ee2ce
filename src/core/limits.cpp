// Upper limits on the POI and discovery significance from the asymptotic calculator.
#include <hifit/errors.hpp>
#include <hifit/infer.hpp>
#include <hifit/stats.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

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

// Brent's method on f(mu) = CLs(mu) - level in [a, b] with f(a) > 0 > f(b).
double brent_root(const std::function<double(double)>& f, double a, double b, double fa,
                  double fb, double rtol) {
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
            out += (out.empty() ? "" : "; ") +
                   ("mu=" + std::to_string(mu) + ": " + r.message);
    }
    return out;
}

} // namespace

UpperLimitResult upper_limit(AsymptoticCalculator& calc, double level, double rtol) {
    if (calc.stat() == TestStat::q0) {
        throw InvalidArgument("upper limits need the qmu or qmu_tilde test statistic");
    }
    CurveCache cache(calc);
    // Bracket: CLs is 1 at mu = 0 and falls with mu; widen the upper end (and the POI
    // bound with it) until every curve is below the level.
    double hi = calc.poi_upper_bound();
    auto below_everywhere = [&](const HypoTestResult& r) {
        if (r.cls_obs > level) return false;
        for (double v : r.cls_exp)
            if (v > level) return false;
        return true;
    };
    for (int i = 0; i < 20 && !below_everywhere(cache.at(hi)); ++i) {
        hi *= 2.0;
        calc.set_poi_upper_bound(hi);
    }
    UpperLimitResult out;
    for (int curve = -1; curve < 5; ++curve) {
        auto f = [&](double mu) {
            return CurveCache::value(cache.at(mu), curve) - level;
        };
        // the tightest bracket among the points evaluated so far
        double a = 0.0, b = hi, fa = 1.0 - level, fb = f(hi);
        for (const auto& [mu, r] : cache.points()) {
            const double v = CurveCache::value(r, curve) - level;
            if (v > 0 && mu > a) a = mu, fa = v;
            if (v <= 0 && mu < b) b = mu, fb = v;
        }
        double root = b;
        if (fb > 0) {
            out.message = "CLs stays above the level up to mu = " + std::to_string(hi);
        } else if (fb < 0) {
            root = brent_root(f, a, b, fa, fb, rtol);
        }
        if (curve < 0) {
            out.observed = root;
        } else {
            out.expected[static_cast<std::size_t>(curve)] = root;
        }
    }
    for (const auto& [mu, r] : cache.points()) out.points.push_back(r);
    const std::string failed = collect_failures(cache.points());
    if (!failed.empty()) out.message += (out.message.empty() ? "" : "; ") + failed;
    out.valid = out.message.empty();
    return out;
}

UpperLimitResult upper_limit_scan(AsymptoticCalculator& calc,
                                  std::span<const double> mus, double level) {
    UpperLimitResult out;
    for (double mu : mus) out.points.push_back(calc.hypotest(mu));
    std::sort(out.points.begin(), out.points.end(),
              [](const auto& x, const auto& y) { return x.mu < y.mu; });
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
    std::map<double, HypoTestResult> points;
    for (const auto& r : out.points) points.emplace(r.mu, r);
    out.message = collect_failures(points);
    if (std::isnan(out.observed)) {
        out.message +=
            (out.message.empty() ? "" : "; ") +
            std::string("the observed CLs does not cross the level in the scan");
    }
    out.valid = out.message.empty();
    return out;
}

SignificanceResult significance(const Model& model, std::span<const double> data,
                                const FitOptions& base) {
    AsymptoticCalculator calc(model, data, TestStat::q0, base);
    const HypoTestResult r = calc.hypotest(0.0);
    SignificanceResult out;
    out.q0_obs = r.q_obs;
    out.q0_asimov = r.q_asimov;
    out.observed_p = r.clsb_obs;
    out.expected_p = r.cls_exp[2];
    // Z = Phi^-1(1 - p), computed as -Phi^-1(p) to keep the digits of small p.
    out.observed_z = -stats::normal_quantile(out.observed_p);
    out.expected_z = -stats::normal_quantile(out.expected_p);
    out.valid = r.valid;
    out.message = r.message;
    return out;
}

} // namespace hifit
