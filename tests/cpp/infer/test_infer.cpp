// Inference against pyhf's numbers for its documented simple model
// (shared/reference/pyhf-model.md, Appendix A.1, computed with pyhf b3dc4bb) and
// internal consistency checks. Parity on the published likelihoods is tested in Python
// against pyhf itself.
#include "simple_model.hpp"

#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace {} // namespace

TEST(Stats, DistributionFunctions) {
    EXPECT_NEAR(hifit::stats::normal_quantile(0.975), 1.959963984540054, 1e-13);
    EXPECT_NEAR(hifit::stats::normal_quantile(1e-10), -6.361340902404056, 1e-10);
    EXPECT_NEAR(hifit::stats::normal_quantile(hifit::stats::normal_cdf(0.3)), 0.3,
                1e-14);
    EXPECT_NEAR(hifit::stats::chi2_sf(3.841458820694124, 1.0), 0.05, 1e-12);
    EXPECT_NEAR(hifit::stats::chi2_sf(18.307038053275146, 10.0), 0.05, 1e-12);
    EXPECT_NEAR(hifit::stats::chi2_sf(2.0, 2.0), std::exp(-1.0), 1e-14);
}

// RooStats' HypoTestResult::CLsError documents sigma_CLs = CLs sqrt((sigma_sb /
// CLs+b)^2 + (sigma_b / CLb)^2) with binomial sigma = sqrt(p (1 - p) / n): the
// relative-error form of the same propagation, computed here from the toy counts.
TEST(Stats, ToyClsErrorIsRooStatsPropagation) {
    const double k_sb = 37, n_sb = 200, k_b = 120, n_b = 250;
    const double clsb = k_sb / n_sb, clb = k_b / n_b, cls = clsb / clb;
    const double rel_sb = std::sqrt(clsb * (1 - clsb) / n_sb) / clsb;
    const double rel_b = std::sqrt(clb * (1 - clb) / n_b) / clb;
    EXPECT_NEAR(hifit::stats::cls_mc_error(clsb, n_sb, clb, n_b),
                cls * std::sqrt(rel_sb * rel_sb + rel_b * rel_b), 1e-15);
    EXPECT_NEAR(hifit::stats::binomial_error(clb, n_b), rel_b * clb, 1e-15);
    // CLs+b = 0: only CLs+b's own binomial error is 0, CLb's term vanishes with CLs
    EXPECT_EQ(hifit::stats::cls_mc_error(0.0, n_sb, clb, n_b), 0.0);
    EXPECT_TRUE(std::isnan(hifit::stats::cls_mc_error(0.0, n_sb, 0.0, n_b)));
    EXPECT_TRUE(std::isnan(hifit::stats::cls_mc_error(clsb, 0, clb, n_b)));
}

TEST(Infer, AsymptoticHypotestMatchesPyhf) {
    Simple s;
    hifit::AsymptoticCalculator calc(s.model, s.data);
    const auto r = calc.hypotest(1.0);
    ASSERT_TRUE(r.valid) << r.message;
    EXPECT_NEAR(r.cls_obs, 0.05251497423736956, 1e-5);
    EXPECT_NEAR(r.clsb_obs, 0.023325019427864607, 1e-5);
    EXPECT_NEAR(r.clb_obs, 0.4441593996111411, 1e-5);
    const double band[5] = {0.0026062609501074576, 0.01382005356161206,
                            0.06445320535890459, 0.23525643861460702,
                            0.573036205919389};
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(r.cls_exp[i], band[i], 1e-5);
}

TEST(Infer, UpperLimitMatchesPyhfToms748) {
    Simple s;
    hifit::AsymptoticCalculator calc(s.model, s.data);
    const auto limit = hifit::upper_limit(calc, 0.05);
    ASSERT_TRUE(limit.valid) << limit.message;
    EXPECT_NEAR(limit.observed, 1.0115693894567155, 1e-3 * 1.01);
    const double expected[5] = {0.5598800069688192, 0.7570233622003864,
                                1.0623469342261151, 1.5011692352780315,
                                2.05078782350314};
    for (int i = 0; i < 5; ++i)
        EXPECT_NEAR(limit.expected[i], expected[i], 1e-3 * expected[i]);
    // CLs at the observed limit is the level.
    EXPECT_NEAR(calc.hypotest(limit.observed).cls_obs, 0.05, 1e-6);
}

TEST(Infer, DiscoverySignificanceMatchesPyhf) {
    Simple s;
    const auto sig = hifit::significance(s.model, s.data);
    ASSERT_TRUE(sig.valid);
    // pyhf's SLSQP stops just short of mu-hat = 0 here (q0 = 1.3e-7 instead of 0), so
    // its p0 is 0.49986 where the exact answer is 0.5: compare to the 1e-3.
    EXPECT_NEAR(sig.observed_p, 0.49985684169057604, 1e-3);
    EXPECT_NEAR(sig.expected_p, 0.030262280681804598, 1e-5);
    EXPECT_NEAR(sig.expected_z, -hifit::stats::normal_quantile(sig.expected_p), 1e-12);
}

TEST(Infer, MinosMatchesTheProfileCrossing) {
    Simple s;
    const auto best = hifit::fit(s.model, s.data);
    const std::size_t par = 1; // a shapesys gamma, far from its bounds
    const auto interval = hifit::minos(s.model, s.data, best, par);
    ASSERT_TRUE(interval.valid) << interval.message;
    for (double x :
         {best.bestfit[par] + interval.lower, best.bestfit[par] + interval.upper}) {
        const std::vector<double> at{x};
        const auto point = hifit::scan(s.model, s.data, par, at);
        EXPECT_NEAR(point.delta_twice_nll[0], 1.0, 1e-6);
    }
    // Close to the parabolic error for a nearly Gaussian parameter.
    EXPECT_NEAR(-interval.lower, best.uncertainty[par], 0.1 * best.uncertainty[par]);
}

// Combine's impacts (MultiDimFit --algo impact): the shifts are each parameter's
// MINOS crossings, the refits are kept, no pre-fit shifts.
TEST(Infer, ImpactsAtProfileCrossingsMatchMinosAndKeptRefits) {
    const auto ws = hifit::Workspace::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_bkgonly.json");
    const auto model = ws.model();
    const auto data = ws.data(model);
    hifit::ImpactOptions how;
    how.prefit = false;
    how.profile_delta = 1.0;
    how.keep_fits = true;
    const auto r = hifit::impacts(model, data, {}, 2, nullptr, how);
    ASSERT_TRUE(r.valid);
    const std::size_t poi = *model.poi_index();
    for (std::size_t k = 0; k < r.pars.size(); ++k) {
        const auto m = hifit::minos(model, data, r.best, r.pars[k], 1.0);
        EXPECT_NEAR(r.postfit_down_shift[k], m.lower, 1e-6);
        EXPECT_NEAR(r.postfit_up_shift[k], m.upper, 1e-6);
        EXPECT_EQ(r.prefit_up[k], 0.0);
        ASSERT_EQ(r.postfit_up_fit[k].size(), model.npars());
        EXPECT_NEAR(r.postfit_up_fit[k][poi] - r.best.bestfit[poi], r.postfit_up[k],
                    1e-12);
        EXPECT_NEAR(r.postfit_down_fit[k][r.pars[k]],
                    r.best.bestfit[r.pars[k]] + m.lower, 1e-6);
    }
}

TEST(Infer, GoodnessOfFitOfAPerfectFitIsOne) {
    Simple s;
    const auto best = hifit::fit(s.model, s.data);
    const auto gof = hifit::goodness_of_fit(s.model, s.data, best);
    EXPECT_EQ(gof.ndof, 1.0); // 2 bins, one free normfactor
    EXPECT_GE(gof.twice_delta_nll, 0.0);
    EXPECT_GT(gof.p_value, 0.0);
    EXPECT_LE(gof.p_value, 1.0);
}

// Combine's default toys on 2-bin_1-channel (shapesys: Poisson constraints, rates
// s_b + gamma_b * bkg_b): the auxiliary data stay as observed, gamma_b is drawn from
// Gamma(aux_b + 1) / tau_b, so the mean main count is s_b + bkg_b (aux_b + 1) / tau_b
// exactly (mu = 1), tau_b = aux_b being (bkg / sigma)^2 at the observed data.
TEST(Infer, PriorToysKeepTheAuxiliaryDataAndDrawTheConstraints) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/pyhf-docs-json/2-bin_1-channel.json");
    const auto model = ws.model();
    const auto data = ws.data(model);
    const auto pars = model.suggested_init();
    const auto& bounds = model.suggested_bounds();
    const auto& fixed = model.suggested_fixed();
    const std::vector<double> signal{5.0, 10.0}, bkg{50.0, 60.0};
    const std::size_t n = 40000;
    std::vector<double> mean(2, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const auto toy =
            hifit::sample_toy_prior(model, pars, data, bounds, fixed, 7, i);
        ASSERT_EQ(toy.size(), data.size());
        for (std::size_t a = model.nmain(); a < data.size(); ++a)
            EXPECT_EQ(toy[a], data[a]);
        for (std::size_t b = 0; b < 2; ++b) mean[b] += toy[b] / static_cast<double>(n);
    }
    for (std::size_t b = 0; b < 2; ++b) {
        const double tau =
            data[model.nmain() + b]; // aux = tau at the nominal gamma = 1
        const double expected =
            signal[b] + bkg[b] * (data[model.nmain() + b] + 1.0) / tau;
        // Monte Carlo: the count's variance is at most the rate plus bkg^2 / tau
        const double sd = std::sqrt((expected + bkg[b] * bkg[b] / tau) / n);
        EXPECT_NEAR(mean[b], expected, 5.0 * sd) << b;
    }
    // a fixed constrained parameter is not drawn: the rates are those at pars
    std::vector<bool> all_fixed(model.npars(), true);
    std::vector<double> at_pars(model.nmain());
    hifit::Likelihood(model, data).expected_data(pars, at_pars, false);
    double sum0 = 0.0;
    for (std::size_t i = 0; i < 4000; ++i)
        sum0 += hifit::sample_toy_prior(model, pars, data, bounds, all_fixed, 9, i)[0];
    EXPECT_NEAR(sum0 / 4000.0, at_pars[0], 5.0 * std::sqrt(at_pars[0] / 4000.0));
    // reproducible by (seed, index)
    EXPECT_EQ(hifit::sample_toy_prior(model, pars, data, bounds, fixed, 7, 3),
              hifit::sample_toy_prior(model, pars, data, bounds, fixed, 7, 3));
}
