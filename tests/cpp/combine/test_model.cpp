// Combine's model built from a datacard: yields at the initial point, exact derivatives
// against finite differences (every term kind), fits, and errors.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>
#include <hifit/fit/minimizer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace {

namespace dc = hifit::datacard;

// Two shape channels (one with autoMCStats, one on unit-normalised templates) and a
// counting channel; lnN sym/asym, lnU, shape with a scale, shapeN, gmN, rateParam, a
// formula rateParam of a rateParam and a constrained extArg.
const char* kCard = R"(imax 3
jmax 2
kmax *
shapes * sr shapes.root sr/$PROCESS sr/$PROCESS_$SYSTEMATIC
shapes * cr shapes.root cr/$PROCESS cr/$PROCESS_$SYSTEMATIC
shapes * cnt FAKE
bin sr cr cnt
observation -1 -1 5
bin      sr  sr  sr    cr  cr  cnt cnt
process  sig bkg other sig bkg bkg other
process  0   1   2     0   1   1   2
rate     -1  -1  -1    -1  -1  4   2
lumi lnN  1.02 1.02 - 1.02 1.02 1.02 -
xs   lnN  -  0.9/1.15 - - 0.9/1.15 - -
flat lnU  -  -  1.3 - - - 1.5
jes shape 1  1  -  1  0.5 - -
res shapeN - - 1 - - - -
cs gmN 8  - - - - - - 0.25
norm rateParam * bkg 1 [0,5]
f rateParam sr other (@0*@1) norm,a
a extArg 1.5 [0,4]
a param 1.5 0.3
sr autoMCStats 0 0 1
)";

dc::Histogram hist(std::vector<double> v, double rel_err = 0.1) {
    dc::Histogram h;
    h.contents = v;
    for (double x : v) h.sumw2.push_back(std::pow(rel_err * std::max(x, 0.5), 2));
    return h;
}

dc::Templates templates(double last_data = 0.0) {
    dc::Templates t;
    auto put = [&](const char* ch, const char* p, const char* var, dc::Histogram h) {
        t[{ch, p, var}] = std::move(h);
    };
    put("sr", "sig", "", hist({1, 2, 3, 0.5}));
    put("sr", "sig", "jesUp", hist({1.2, 2.1, 3.3, 0.5}));
    put("sr", "sig", "jesDown", hist({0.9, 1.8, 2.9, 0.45}));
    put("sr", "bkg", "", hist({10, 8, 5, 0.2}, 0.5)); // large error in the last bin
    put("sr", "bkg", "jesUp", hist({11, 8.5, 5.5, 0.25}));
    put("sr", "bkg", "jesDown", hist({9.5, 7.2, 4.9, 0.15}));
    put("sr", "other", "", hist({3, 2, 1, 0.1}));
    put("sr", "other", "resUp", hist({3.5, 2.1, 0.8, 0.1}));
    put("sr", "other", "resDown", hist({2.6, 1.9, 1.3, 0.0}));
    put("sr", "data_obs", "", hist({16, 13, 9, last_data}));
    put("cr", "sig", "", hist({0.5, 1, 0.2}));
    put("cr", "sig", "jesUp", hist({0.6, 1.1, 0.2}));
    put("cr", "sig", "jesDown", hist({0.45, 0.9, 0.25}));
    put("cr", "bkg", "", hist({20, 14, 7}));
    put("cr", "bkg", "jesUp", hist({22, 14, 6}));
    put("cr", "bkg", "jesDown", hist({18, 15, 7.5}));
    put("cr", "data_obs", "", hist({21, 15, 7}));
    return t;
}

dc::CombineModel build(const dc::CombineOptions& options = {}, double last_data = 0.0) {
    return dc::build_model(dc::parse_datacard(kCard, "test.txt"), templates(last_data),
                           options);
}

std::size_t index_of(const hifit::Model& m, const std::string& name) {
    const auto& names = m.par_names();
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) -
                                    names.begin());
}

TEST(CombineModel, ParametersAndInitialYields) {
    const dc::CombineModel cm = build();
    const hifit::Model& m = cm.model;
    for (const char* name :
         {"r", "lumi", "xs", "flat", "jes", "res", "cs", "norm", "a"})
        EXPECT_LT(index_of(m, name), m.npars()) << name;
    EXPECT_EQ(m.poi_name(), "r");
    EXPECT_EQ(m.nmain(), 8u); // 4 + 3 + 1
    // One BB-lite term per sr bin; the unit-normalised cr has none.
    EXPECT_LT(index_of(m, "prop_binsr_bin0"), m.npars());
    EXPECT_EQ(index_of(m, "prop_bincr_bin0"), m.npars());

    hifit::Likelihood lh(m, cm.data);
    std::vector<double> expected(m.nmain());
    lh.expected_data(m.suggested_init(), expected, false);
    // sr: sig + bkg + 1.5 * other (f = norm * a at their initial values), float32
    const double sr0 = 1 + 10 + 1.5 * 3, cr0 = 0.5 + 20, cnt = 4 + 2;
    EXPECT_NEAR(expected[0], sr0, 1e-6);
    EXPECT_NEAR(expected[4], cr0, 1e-6);
    EXPECT_NEAR(expected[7], cnt, 1e-12);
    // observed data: data_obs templates and the counting observation
    EXPECT_EQ(cm.data[3], 0.0);
    EXPECT_EQ(cm.data[7], 5.0);
}

void check_derivatives(const dc::CombineModel& cm, unsigned seed) {
    const hifit::Model& m = cm.model;
    hifit::Likelihood lh(m, cm.data);
    const std::size_t n = m.npars();
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-0.6, 0.6);
    std::vector<double> x = m.suggested_init();
    for (std::size_t i = 0; i < n; ++i) {
        const auto [lo, hi] = m.suggested_bounds()[i];
        x[i] = std::clamp(x[i] + u(rng) * (x[i] == 0.0 ? 1.0 : 0.5 * x[i]), lo + 0.05,
                          hi - 0.05);
    }
    std::vector<double> g(n), h(n * n), gp(n), gm(n);
    lh.twice_nll_grad_hess(x, g, h);
    const double eps = 1e-6;
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<double> xp = x, xm = x;
        xp[i] += eps;
        xm[i] -= eps;
        const double fd = (lh.twice_nll(xp) - lh.twice_nll(xm)) / (2 * eps);
        EXPECT_NEAR(g[i], fd, 1e-5 * std::max(1.0, std::abs(fd))) << m.par_names()[i];
        lh.twice_nll_grad(xp, gp);
        lh.twice_nll_grad(xm, gm);
        for (std::size_t j = 0; j < n; ++j) {
            const double fdh = (gp[j] - gm[j]) / (2 * eps);
            EXPECT_NEAR(h[i * n + j], fdh, 2e-5 * std::max(1.0, std::abs(fdh)))
                << m.par_names()[i] << " " << m.par_names()[j];
        }
    }
}

TEST(CombineModel, DerivativesMatchFiniteDifferences) {
    for (unsigned seed : {1u, 2u, 3u}) check_derivatives(build(), seed);
    // a non-empty last bin: the BB term is a plain parameter there
    check_derivatives(build({}, 1.0), 4u);
    // per-process POIs and a masked channel
    dc::CombineOptions o;
    o.poi_map = {{"sig", "r_sig"}};
    o.masked_channels = {"cr"};
    check_derivatives(build(o), 5u);
}

TEST(CombineModel, FitConvergesWithTheProfiledEmptyBin) {
    const dc::CombineModel cm = build();
    const hifit::FitResult res = hifit::fit(cm.model, cm.data);
    EXPECT_TRUE(res.valid) << res.message;
    EXPECT_LT(res.edm, 1e-6);
}

TEST(CombineModel, MaskedChannelsDropTheirPoissonTerms) {
    dc::CombineOptions o;
    o.masked_channels = {"cr"};
    const dc::CombineModel full = build(), masked = build(o);
    hifit::Likelihood a(full.model, full.data), b(masked.model, masked.data);
    std::vector<double> x = full.model.suggested_init();
    // -2 ln L differs by the cr Poisson terms, their ln n! constants included
    std::vector<double> nu(full.model.nmain());
    a.expected_data(x, nu, false);
    double cr = 0.0;
    for (std::size_t i = 4; i < 7; ++i) {
        const double n = full.data[i];
        cr += nu[i] - n * std::log(nu[i]) + std::lgamma(n + 1.0);
    }
    EXPECT_NEAR(a.twice_nll(x) - b.twice_nll(x), 2.0 * cr, 1e-9);
}

TEST(CombineModel, BinSlashProcessMapsScaleOneChannel) {
    // "BIN/PROCESS" globs (ChannelCompatibilityCheck's per-channel signal strengths)
    dc::CombineOptions o;
    o.poi_map = {{"sr/*", "r_sr"}, {"cr/*", "r_cr"}};
    const dc::CombineModel cm = build(o);
    const hifit::Model& m = cm.model;
    ASSERT_LT(index_of(m, "r_sr"), m.npars());
    ASSERT_LT(index_of(m, "r_cr"), m.npars());
    EXPECT_EQ(index_of(m, "r"), m.npars());
    const dc::CombineModel nominal = build();
    hifit::Likelihood lh(m, cm.data), ref(nominal.model, nominal.data);
    std::vector<double> x = m.suggested_init(),
                        nominal_x = nominal.model.suggested_init();
    x[index_of(m, "r_sr")] = 2.0; // doubles the sr signal only
    std::vector<double> got(m.nmain()), want(m.nmain());
    lh.expected_data(x, got, false);
    ref.expected_data(nominal_x, want, false);
    EXPECT_NEAR(got[0] - want[0], 1.0, 1e-6); // the sr signal of bin 0 is 1
    EXPECT_NEAR(got[4], want[4], 1e-12);      // cr untouched
    EXPECT_NEAR(got[7], want[7], 1e-12);      // no signal in cnt
}

TEST(CombineModel, ClearErrors) {
    dc::CombineOptions o;
    o.masked_channels = {"nope"};
    EXPECT_THROW(build(o), hifit::InvalidArgument);
    auto t = templates();
    std::string card = kCard;
    card.replace(card.find("rate     -1  -1"), 15, "rate     -1  50");
    try {
        dc::build_model(dc::parse_datacard(card, "test.txt"), templates());
        FAIL() << "a rate far from the template integral must be refused";
    } catch (const hifit::InvalidModel& e) {
        EXPECT_NE(std::string(e.what()).find("mismatch in normalizations"),
                  std::string::npos)
            << e.what();
    }
    t.erase({"sr", "other", "resUp"});
    EXPECT_THROW(dc::build_model(dc::parse_datacard(kCard, "test.txt"), t),
                 hifit::InvalidModel);
}

// Template values that leave the likelihood undefined are input errors naming the
// card, the bin, the process and the histogram bin (negative MC bins stay accepted:
// Combine floors the expectation).
TEST(CombineModel, NonFiniteTemplatesAndNegativeDataAreInputErrors) {
    auto message = [](dc::Templates t) {
        try {
            dc::build_model(dc::parse_datacard(kCard, "test.txt"), t);
        } catch (const hifit::InvalidModel& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    auto t = templates();
    t[{"sr", "bkg", ""}].contents[2] = std::nan("");
    EXPECT_EQ(message(t), "test.txt: bin sr, process bkg: histogram bin 3 is nan, "
                          "expected a finite number");
    t = templates();
    t[{"cr", "bkg", "jesUp"}].contents[0] = INFINITY;
    EXPECT_EQ(message(t), "test.txt: bin cr, process bkg, template jesUp: histogram "
                          "bin 1 is infinite, expected a finite number");
    t = templates();
    t[{"cr", "data_obs", ""}].contents[1] = -2.0;
    EXPECT_EQ(message(t), "test.txt: bin cr: data_obs histogram bin 2 is -2.000000, "
                          "expected an observed count >= 0");
    t = templates();
    t[{"sr", "other", ""}].contents[3] = -0.05;
    EXPECT_EQ(message(t), "<no error>");
}

} // namespace
