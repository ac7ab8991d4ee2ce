// -2 ln L against pyhf reference values and the analytic derivatives against finite
// differences on real published workspaces.
#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

const std::string kData = HIFIT_SHARED_DATA;

hifit::Model load_model(const std::string& ws_path, const std::string& patch = "") {
    auto ws = hifit::Workspace::load(kData + ws_path);
    if (!patch.empty()) {
        ws = hifit::PatchSet::load(kData + "/pyhf/atlas-1Lbb-ins1755298/patchset.json")
                 .apply(ws, patch);
    }
    return ws.model();
}

// Random point inside the bounds, near the suggested init.
std::vector<double> random_point(const hifit::Model& model, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-0.3, 0.3);
    std::vector<double> x = model.suggested_init();
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (model.suggested_fixed()[i]) continue;
        const auto [lo, hi] = model.suggested_bounds()[i];
        x[i] = std::clamp(x[i] + u(rng) * (x[i] == 0.0 ? 3.0 : x[i]), lo + 1e-3,
                          hi - 1e-3);
    }
    return x;
}

void check_derivatives(const hifit::Model& model, const std::vector<double>& data,
                       const std::vector<double>& x) {
    hifit::Likelihood lh(model, data);
    const std::size_t n = model.npars();
    std::vector<double> g(n), h(n * n), gp(n), gm(n);
    lh.twice_nll_grad_hess(x, g, h);
    const double eps = 1e-6;
    for (std::size_t i = 0; i < n; ++i) {
        auto xp = x, xm = x;
        xp[i] += eps;
        xm[i] -= eps;
        const double fd = (lh.twice_nll(xp) - lh.twice_nll(xm)) / (2 * eps);
        EXPECT_NEAR(g[i], fd, 1e-5 * (1.0 + std::abs(fd))) << model.par_names()[i];
        lh.twice_nll_grad(xp, gp);
        lh.twice_nll_grad(xm, gm);
        for (std::size_t j = 0; j < n; ++j) {
            const double fdh = (gp[j] - gm[j]) / (2 * eps);
            EXPECT_NEAR(h[i * n + j], fdh, 1e-4 * (1.0 + std::abs(fdh)))
                << model.par_names()[i] << " x " << model.par_names()[j];
        }
    }
}

} // namespace

// pyhf reference (shared/reference/pyhf-model.md, Appendix A.1): twice_nll at init.
TEST(Likelihood, TwiceNllAtInitMatchesPyhf) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/pyhf-docs-json/2-bin_1-channel.json");
    const auto model = ws.model();
    hifit::Likelihood lh(model, ws.data(model));
    EXPECT_NEAR(lh.twice_nll(model.suggested_init()), 25.167266297778653, 1e-12);
}

TEST(Likelihood, DerivativesMatchFiniteDifferencesOn1LbbPatch) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json");
    const auto patched =
        hifit::PatchSet::load(kData + "/pyhf/atlas-1Lbb-ins1755298/patchset.json")
            .apply(ws, "C1N2_Wh_hbb_1000_0");
    const auto model = patched.model();
    check_derivatives(model, patched.data(model), random_point(model, 1));
}

TEST(Likelihood, DerivativesMatchFiniteDifferencesOnSbottomAndShapesys) {
    for (const char* path : {"/pyhf/atlas-sbottom-ins1748602/RegionC/BkgOnly.json",
                             "/pyhf/pyhf-docs-json/2-bin_1-channel.json",
                             "/pyhf/validation-workspaces/"
                             "validation_2bin_2channel_coupledshapefactor.json"}) {
        auto ws = hifit::Workspace::load(kData + path);
        hifit::ModelOptions options;
        options.poi_name = "";
        const auto model = ws.model(options);
        check_derivatives(model, ws.data(model), random_point(model, 7));
    }
}

TEST(Likelihood, DerivativesExactWhenANormfactorIsZero) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/pyhf-docs-json/2-bin_1-channel.json");
    const auto model = ws.model();
    auto x = model.suggested_init();
    x[*model.poi_index()] = 0.0;
    check_derivatives(model, ws.data(model), x);
}

TEST(Prediction, SamplesSumToTheExpectedRates) {
    const auto ws = hifit::Workspace::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_bkgonly.json");
    const auto model = ws.model();
    const auto x = random_point(model, 3);
    const auto by_sample = hifit::expected_by_sample(model, x);
    hifit::Likelihood lh(model, ws.data(model));
    std::vector<double> total(model.nmain());
    lh.expected_data(x, total, false);
    const std::size_t ns = model.samples().size();
    for (std::size_t b = 0; b < model.nmain(); ++b) {
        double sum = 0.0;
        for (std::size_t s = 0; s < ns; ++s) sum += by_sample[s * model.nmain() + b];
        EXPECT_NEAR(sum, total[b], 1e-12 * total[b]);
    }
}

TEST(Prediction, OneShiftedParameterGivesHalfTheSymmetricDifference) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/pyhf-docs-json/2-bin_1-channel.json");
    const auto model = ws.model();
    const auto x = model.suggested_init();
    std::vector<double> unc(model.npars(), 0.0);
    unc[1] = 0.1; // uncorr_bkguncrt[0] scales the background in bin 0
    const auto p = hifit::predict(model, x, unc);
    const std::size_t ns = p.nsamples, bkg = 0; // samples sorted: background, signal
    const double background_bin0 = p.yields[bkg * p.nbins + 0];
    EXPECT_NEAR(p.stdev_bins[bkg * p.nbins + 0], 0.1 * background_bin0, 1e-12);
    EXPECT_NEAR(p.stdev_bins[bkg * p.nbins + 1], 0.0, 1e-12);
    EXPECT_NEAR(p.stdev_bins[ns * p.nbins + 0], 0.1 * background_bin0, 1e-12); // total
    EXPECT_NEAR(p.stdev_channels[ns * p.nchannels + 0], 0.1 * background_bin0, 1e-12);
}

// Another parameter as the POI: the same likelihood, only the POI index and name move;
// a per-bin or unknown parameter is refused.
TEST(Model, WithPoiMovesOnlyThePoi) {
    const auto model =
        load_model("/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json", "C1N2_Wh_hbb_1000_0");
    const auto& sets = model.paramsets();
    const auto scalar = std::find_if(sets.begin(), sets.end(), [&](const auto& p) {
        return p.name != model.poi_name() && p.size == 1;
    });
    const auto shaped = std::find_if(sets.begin(), sets.end(),
                                     [&](const auto& p) { return p.size > 1; });
    ASSERT_NE(scalar, sets.end());
    ASSERT_NE(shaped, sets.end());
    const std::string before = model.poi_name();
    const auto moved = model.with_poi(scalar->name);
    EXPECT_EQ(moved.poi_name(), scalar->name);
    EXPECT_EQ(moved.poi_index(), scalar->offset);
    EXPECT_EQ(model.poi_name(), before); // the original is unchanged
    std::vector<double> data(model.nmain(), 5.0);
    data.insert(data.end(), model.auxdata().begin(), model.auxdata().end());
    const auto x = random_point(model, 7);
    EXPECT_EQ(hifit::Likelihood(moved, data).twice_nll(x),
              hifit::Likelihood(model, data).twice_nll(x));
    EXPECT_THROW((void)model.with_poi("no_such_parameter"), hifit::InvalidArgument);
    EXPECT_THROW((void)model.with_poi(shaped->name), hifit::InvalidArgument);
}

// The Fisher information the minimizer steps on (1Lbb offers it): value and gradient
// as the exact call, Hessian = 2 sum_b J_b J_b^T / nu_b + the constraints' exact
// Hessian, with J the Jacobian of the expected rates by central differences.
TEST(Likelihood, FisherHessianMatchesFiniteDifferenceJacobianOn1Lbb) {
    const auto model =
        load_model("/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json", "C1N2_Wh_hbb_1000_0");
    const auto x = random_point(model, 7);
    hifit::Likelihood lh(model, std::vector<double>(model.nmain() + model.naux(), 5.0));
    ASSERT_TRUE(lh.has_fisher_hessian());
    const std::size_t n = model.npars(), nb = model.nmain(), na = model.naux();
    std::vector<double> g(n), h(n * n), gf(n), hf(n * n);
    const double f = lh.twice_nll_grad_hess(x, g, h);
    EXPECT_EQ(lh.twice_nll_grad_fisher(x, gf, hf), f);
    EXPECT_EQ(gf, g);
    std::vector<double> nu(nb + na), up(nb + na), down(nb + na), jac(nb * n);
    lh.expected_data(x, nu);
    const double eps = 1e-6;
    std::vector<double> constraint_diag(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        auto xp = x, xm = x;
        xp[i] += eps;
        xm[i] -= eps;
        lh.expected_data(xp, up);
        lh.expected_data(xm, down);
        for (std::size_t b = 0; b < nb; ++b)
            jac[b * n + i] = (up[b] - down[b]) / (2 * eps);
        // the constraint terms' curvature, by a second difference on a wider step
        // (Gaussian constraints are quadratic: exact up to rounding)
        const double wide = 1e-3;
        auto xw = x;
        const double c0 = lh.twice_nll_constraints(x);
        xw[i] = x[i] + wide;
        const double cp = lh.twice_nll_constraints(xw);
        xw[i] = x[i] - wide;
        const double cm = lh.twice_nll_constraints(xw);
        constraint_diag[i] = (cp - 2 * c0 + cm) / (wide * wide);
    }
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            double ref = i == j ? constraint_diag[i] : 0.0;
            for (std::size_t b = 0; b < nb; ++b)
                ref += 2.0 * jac[b * n + i] * jac[b * n + j] / nu[b];
            EXPECT_NEAR(hf[i * n + j], ref, 1e-3 * (1.0 + std::abs(ref)))
                << model.par_names()[i] << " x " << model.par_names()[j];
        }
    }
}
