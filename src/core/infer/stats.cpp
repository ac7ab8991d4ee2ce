#include <hifit/infer/stats.hpp>

#include "log_gamma.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hifit::stats {

double normal_cdf(double x) {
    return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

double normal_sf(double x) {
    return 0.5 * std::erfc(x / std::sqrt(2.0));
}

double normal_quantile(double p) {
    if (p <= 0.0) return -std::numeric_limits<double>::infinity();
    if (p >= 1.0) return std::numeric_limits<double>::infinity();
    if (p > 0.5) return -normal_quantile(1.0 - p);
    // Bisection on the exact cdf: not fast, but exact to the last digit over the whole
    // range of p (no fit is ever waiting on it).
    double lo = -40.0, hi = 0.0;
    for (int i = 0; i < 200 && hi - lo > 1e-16 * std::max(1.0, std::abs(lo)); ++i) {
        const double mid = 0.5 * (lo + hi);
        (normal_cdf(mid) < p ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

double gamma_q(double a, double x) {
    if (x <= 0.0) return 1.0;
    const double log_prefactor = a * std::log(x) - x - log_gamma(a);
    if (x < a + 1.0) {
        // P(a, x) by its power series, Q = 1 - P.
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < 10000; ++n) {
            term *= x / (a + n);
            sum += term;
            if (std::abs(term) < std::abs(sum) * 1e-16) break;
        }
        return 1.0 - sum * std::exp(log_prefactor);
    }
    // Q(a, x) by its continued fraction (modified Lentz).
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 10000; ++i) {
        const double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (std::abs(d) < tiny) d = tiny;
        c = b + an / c;
        if (std::abs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double delta = d * c;
        h *= delta;
        if (std::abs(delta - 1.0) < 1e-16) break;
    }
    return std::exp(log_prefactor) * h;
}

double chi2_sf(double x, double ndof) {
    if (!(ndof > 0)) return std::numeric_limits<double>::quiet_NaN();
    return gamma_q(0.5 * ndof, 0.5 * x);
}

double binomial_error(double p, double n) {
    if (!(n > 0)) return std::numeric_limits<double>::quiet_NaN();
    return std::sqrt(p * (1.0 - p) / n);
}

double cls_mc_error(double clsb, double n_sb, double clb, double n_b) {
    if (!(clb > 0) || !(n_sb > 0) || !(n_b > 0))
        return std::numeric_limits<double>::quiet_NaN();
    const double cls = clsb / clb;
    const double err_sb = binomial_error(clsb, n_sb), err_b = binomial_error(clb, n_b);
    return std::sqrt(err_sb * err_sb + err_b * err_b * cls * cls) / clb;
}

} // namespace hifit::stats
