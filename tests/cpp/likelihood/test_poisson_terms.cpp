// The cancellation-free Poisson pieces against long-double references (a Taylor
// series near nu = n, lgammal where long double still resolves lgamma, Stirling's
// series with Bernoulli numbers beyond), and a likelihood with huge counts.
#include "likelihood/poisson_terms.hpp"

#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <sstream>
#include <string>

namespace {

using hifit::terms::poisson_constant;
using hifit::terms::poisson_deviance;

// nu - n - n ln(nu / n) in long double: n sum_k (-x)^k / k (k >= 2) for small
// x = (nu - n) / n, the direct form otherwise (at most 2^6 of 2^11 spare bits lost).
long double deviance_reference(double nu_d, double n_d) {
    const long double nu = nu_d, n = n_d;
    if (n == 0.0L) return nu;
    const long double x = (nu - n) / n;
    if (std::fabs(x) < 0.03L) {
        long double sum = 0.0L, power = -x;
        for (int k = 2; k < 40; ++k) {
            power *= -x;
            sum += power / k;
        }
        return n * sum;
    }
    return (nu - n) - n * std::log(nu / n);
}

// lgamma(n + 1) + n - n ln n in long double.
long double constant_reference(double n_d) {
    const long double n = n_d;
    if (n <= 1e4L) return std::lgamma(n + 1.0L) + n - n * std::log(n);
    // Stirling: ln(2 pi n) / 2 + sum_k B_2k / (2k (2k - 1) n^(2k - 1))
    const long double bernoulli[] = {1.0L / 6,   -1.0L / 30,    1.0L / 42,
                                     -1.0L / 30, 5.0L / 66,     -691.0L / 2730,
                                     7.0L / 6,   -3617.0L / 510};
    long double sum = 0.5L * std::log(2.0L * std::numbers::pi_v<long double> * n);
    long double inv = 1.0L / n;
    for (int k = 1; k <= 8; ++k) {
        sum += bernoulli[k - 1] / (2.0L * k * (2.0L * k - 1.0L)) * inv;
        inv /= n * n;
    }
    return sum;
}

const double kCounts[] = {1e-3, 0.37,  1.0, 7.5, 9.999, 10.0,
                          42.0, 300.0, 1e6, 1e9, 1e13};

TEST(PoissonTerms, DevianceMatchesLongDoubleReference) {
    const double offsets[] = {1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.05, 0.0999, 0.105,
                              0.2,   0.5,   0.9,  1.0,  3.0,  1e3,  1e6};
    double worst = 0.0;
    for (double n : kCounts) {
        for (double e : offsets) {
            for (double ratio : {1.0 + e, 1.0 / (1.0 + e)}) {
                const double nu = n * ratio;
                const long double want = deviance_reference(nu, n);
                const double got = poisson_deviance(nu, n);
                const double rel = static_cast<double>(std::fabs((got - want) / want));
                worst = std::max(worst, rel);
                EXPECT_LT(rel, 1e-14) << "n " << n << " nu " << nu;
            }
        }
    }
    std::ostringstream text;
    text << worst;
    RecordProperty("worst_relative_error", text.str());
}

TEST(PoissonTerms, DevianceEdgePoints) {
    for (double n : kCounts) {
        EXPECT_EQ(poisson_deviance(n, n), 0.0) << n;
        // one ulp above n: (nu - n)^2 / (2 n) to leading order
        const double nu = std::nextafter(n, 2.0 * n);
        const double d = nu - n;
        EXPECT_NEAR(poisson_deviance(nu, n), d * d / (2.0 * n), 1e-12 * d * d / n) << n;
    }
    EXPECT_EQ(poisson_deviance(3.5, 0.0), 3.5); // xlogy(0, nu) = 0
    EXPECT_EQ(poisson_deviance(0.0, 0.0), 0.0);
    EXPECT_EQ(poisson_deviance(0.0, 2.0), INFINITY); // nu = 0 with events
    EXPECT_TRUE(std::isnan(poisson_deviance(-1.0, 2.0)));
    // overflow of nu / n: the logarithms are taken separately
    const double tiny = 4e-320;
    EXPECT_NEAR(poisson_deviance(1e10, tiny), 1e10, 1e-6);
}

// Relative to the constant, or 1e-16 absolute for tiny n, where n + 1 itself rounds.
TEST(PoissonTerms, ConstantMatchesLongDoubleReference) {
    const double extra[] = {10.5, 17.3, 100.0, 1000.5, 5000.0, 1e5, 3.7e11 + 0.5};
    for (const double* list : {std::begin(kCounts), std::begin(extra)}) {
        const double* end =
            list == std::begin(kCounts) ? std::end(kCounts) : std::end(extra);
        for (const double* p = list; p != end; ++p) {
            const long double want = constant_reference(*p);
            EXPECT_NEAR(poisson_constant(*p), static_cast<double>(want),
                        5e-15 * static_cast<double>(std::fabs(want)) + 1e-16)
                << *p;
        }
    }
    EXPECT_EQ(poisson_constant(0.0), 0.0);
    EXPECT_EQ(poisson_constant(1.0), 1.0); // lgamma(2) + 1 - 0
}

TEST(PoissonTerms, DevianceAndConstantSumToThePoissonTerm) {
    // nu - n ln nu + lgamma(n + 1), where long double still resolves it
    for (double n : {0.0, 1e-3, 2.0, 37.5, 1e3}) {
        for (double nu : {0.5, 3.0, 40.0, 900.0}) {
            const long double want = nu -
                                     (n == 0.0 ? 0.0L : n * std::log((long double)nu)) +
                                     std::lgamma(n + 1.0L);
            EXPECT_NEAR(poisson_deviance(nu, n) + poisson_constant(n),
                        static_cast<double>(want),
                        1e-13 * (1.0 + std::fabs((double)want)))
                << n << " " << nu;
        }
    }
}

TEST(PoissonTerms, CompensatedSumIsExactOnCancellingTerms) {
    hifit::terms::CompensatedSum s;
    for (double x : {1e16, 1.0, -1e16, 1e-3, 3.0}) s.add(x);
    EXPECT_DOUBLE_EQ(s.value(), 4.001);
    hifit::terms::CompensatedSum t;
    long double want = 0.0L;
    for (int i = 0; i < 100000; ++i) {
        t.add(0.1 * (i % 7));
        want += 0.1L * (i % 7); // exact in long double to far below 1 ulp of double
    }
    EXPECT_DOUBLE_EQ(t.value(), static_cast<double>(want));
}

// A shapesys with tau = 1e13 on main counts of 1e9: -2 ln L stays resolved, so its
// central differences match the analytic gradient, and the deviance is the
// difference of twice_nll and its saturated value.
TEST(PoissonTerms, LikelihoodWithHugeCountsHasResolvedDerivatives) {
    const std::string json = R"({"channels": [{"name": "c", "samples": [
        {"name": "s", "data": [2e6, 1e5],
         "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]},
        {"name": "b", "data": [1e9, 5e8], "modifiers": [
            {"name": "ss", "type": "shapesys", "data": [316.2277660168379, 158113.88]},
            {"name": "n", "type": "normsys", "data": {"hi": 1.001, "lo": 0.999}}]}]}],
        "observations": [{"name": "c", "data": [1001000123, 500004321]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0"})";
    const auto ws = hifit::Workspace::from_json(json);
    const hifit::Model model = ws.model();
    hifit::Likelihood lh(model, ws.data(model));
    ASSERT_EQ(model.npars(), 4u);
    std::vector<double> x(4);
    for (std::size_t i = 0; i < 4; ++i) {
        const std::string& name = model.par_names()[i];
        x[i] = name == "mu"      ? 0.7
               : name == "n"     ? 0.3
               : name == "ss[0]" ? 1.0 + 2e-7
                                 : 1.0 - 1e-5;
    }
    std::vector<double> g(x.size()), h(x.size() * x.size());
    const double f = lh.twice_nll_grad_hess(x, g, h);
    EXPECT_NEAR(lh.twice_deviance(x), f - lh.twice_nll_saturated(), 1e-9 * f);
    for (std::size_t i = 0; i < x.size(); ++i) {
        // f moves by ~0.01; nu (1e9, resolved to 1e-7) by ~20 over the step
        const double step = 0.1 / std::sqrt(h[i * x.size() + i]);
        auto xp = x, xm = x;
        xp[i] += step;
        xm[i] -= step;
        const double fd = (lh.twice_nll(xp) - lh.twice_nll(xm)) / (2.0 * step);
        EXPECT_NEAR(g[i], fd, 3e-8 * std::abs(g[i])) << model.par_names()[i];
    }
}

} // namespace
