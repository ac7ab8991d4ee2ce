// Cancellation-free pieces of -ln L. Private to the core.
//
// A Poisson term nu - n ln nu + lgamma(n + 1) is split into
//   deviance(nu, n) = nu - n - n ln(nu / n)        >= 0, zero at nu = n
//   constant(n)     = lgamma(n + 1) + n - n ln n   ~ ln(2 pi n) / 2 for large n
// Both are O(1) where the raw terms are O(n ln n), so -ln L keeps full precision
// however large the counts or the Poisson constraint factors are.
#pragma once

#include "log_gamma.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace hifit::terms {

// nu - n - n ln(nu / n) given d = nu - n computed accurately by the caller (exactly,
// or with an fma for nu = gamma * tau). n = 0 gives nu, as xlogy(0, nu) = 0.
inline double poisson_deviance(double d, double nu, double n) {
    if (n == 0.0) return nu;
    if (!(n > 0.0)) return nu - n * std::log(nu); // negative counts: the raw form
    const double s = nu + n;
    if (std::abs(d) < 0.1 * s) {
        // With v = d / s, ln(nu / n) = 2 atanh(v): deviance = d v - 2 n v^3 P(v^2),
        // P(u) = sum_j u^j / (2j + 3). |v| < 0.1, so eight terms reach 1e-17 and the
        // second term is below 7% of the first (no cancellation).
        constexpr double inverse_odd[] = {1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11,
                                          1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3};
        const double v = d / s, u = v * v;
        double p = 0.0;
        for (double c : inverse_odd) p = p * u + c;
        return d * v - 2.0 * n * v * u * p;
    }
    // Outside, the deviance is at least |d| / 11: the subtraction loses one digit.
    const double r = nu / n;
    const double log_r = r > 0.0 && r < std::numeric_limits<double>::infinity()
                             ? std::log(r)
                             : std::log(nu) - std::log(n);
    return d - n * log_r;
}

inline double poisson_deviance(double nu, double n) {
    return poisson_deviance(nu - n, nu, n);
}

// lgamma(n + 1) + n - n ln n: the Poisson term's value at nu = n. Stirling's series
// for n >= 10 (truncation below 1e-16), the direct sum below (it loses at most a
// factor of ten there). Non-integer n (Asimov data) is fine.
inline double poisson_constant(double n) {
    if (n == 0.0) return 0.0;
    if (!(n > 0.0)) return log_gamma(n + 1.0); // pairs with the raw deviance above
    if (n < 10.0) return log_gamma(n + 1.0) + n - n * std::log(n);
    // B_2k / (2k (2k - 1)) for k = 7 down to 1, in powers of 1 / n^2
    constexpr double stirling[] = {1.0 / 156,  -691.0 / 360360, 1.0 / 1188, -1.0 / 1680,
                                   1.0 / 1260, -1.0 / 360,      1.0 / 12};
    const double x = 1.0 / n, x2 = x * x;
    double series = 0.0;
    for (double c : stirling) series = series * x2 + c;
    series *= x;
    return 0.5 * std::log(2.0 * std::numbers::pi * n) + series;
}

// ln(sigma sqrt(2 pi)): the Gaussian term of -ln L at its minimum (z = 0).
inline double gaussian_constant(double sigma) {
    return std::log(sigma) + 0.5 * std::log(2.0 * std::numbers::pi);
}

// Neumaier's compensated sum: error independent of the number of terms.
class CompensatedSum {
  public:
    void add(double x) {
        const double t = sum_ + x;
        carry_ += std::abs(sum_) >= std::abs(x) ? (sum_ - t) + x : (x - t) + sum_;
        sum_ = t;
    }
    double value() const { return sum_ + carry_; }

  private:
    double sum_ = 0.0, carry_ = 0.0;
};

} // namespace hifit::terms
