// The fast per-toy work (infer/toy_fits.hpp) against the reference path: toys drawn as
// sample_toy's original algorithm draws them, and per-toy test statistics against
// test_statistic's full fits from the initial values.
#include "simple_model.hpp"

#include "fit/setup.hpp"
#include "infer/toy_fits.hpp"
#include "likelihood/model_data.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace {

// The fits stop at EDM < 1e-9 (-2 ln L units): q of two converged fits agree far
// below this.
constexpr double kQTolerance = 1e-6;

// sample_toy as first written: fresh distributions for every draw.
std::vector<double> reference_toy(const hifit::Model& model,
                                  const std::vector<double>& pars,
                                  unsigned long long seed, unsigned long long index) {
    const hifit::ModelData& md = model.compiled();
    std::mt19937_64 rng = hifit::toy_rng(seed, index);
    std::vector<double> out(model.nmain() + model.naux(), 0.0);
    hifit::Likelihood lh(model, out);
    std::vector<double> expected(model.nmain());
    lh.expected_data(pars, expected, false);
    auto poisson = [&](double mean) {
        return mean > 0 ? static_cast<double>(
                              std::poisson_distribution<long long>(mean)(rng))
                        : 0.0;
    };
    for (std::size_t b = 0; b < model.nmain(); ++b) out[b] = poisson(expected[b]);
    double* aux = out.data() + model.nmain();
    for (const auto& t : md.gaussian)
        aux[t.aux] = std::normal_distribution<double>(pars[t.par], t.sigma)(rng);
    for (const auto& t : md.poisson) aux[t.aux] = poisson(pars[t.par] * t.factor);
    return out;
}

struct Generators {
    std::vector<double> sb, b;
};

Generators generators(const hifit::Model& model, const std::vector<double>& data,
                      const hifit::FitOptions& options, double mu) {
    const std::size_t poi = *model.poi_index();
    hifit::Likelihood lh(model, data);
    return {hifit::robust_fit(lh, hifit::fixed_at(options, poi, mu, {})).bestfit,
            hifit::robust_fit(lh, hifit::fixed_at(options, poi, 0.0, {})).bestfit};
}

// Per toy: q of the fast path equals test_statistic's within kQTolerance and both
// agree on whether the toy's fits converged.
void expect_same_statistics(const hifit::Model& model, const std::vector<double>& data,
                            double mu, hifit::TestStat stat, unsigned long long first,
                            unsigned long long count) {
    const hifit::FitOptions options = hifit::resolved(model, {});
    const Generators gen = generators(model, data, options, mu);
    for (const auto* g : {&gen.sb, &gen.b}) {
        hifit::ToySampler sampler(model, *g);
        hifit::ToyTestStatistic fast(model, options, mu, stat, *g);
        std::vector<double> toy(sampler.size());
        for (unsigned long long i = first; i < first + count; ++i) {
            sampler.sample(7, i, toy);
            ASSERT_EQ(toy, reference_toy(model, *g, 7, i)) << "toy " << i;
            bool valid = false;
            const double q = fast.evaluate(toy, valid);
            const hifit::TestStatResult ref =
                hifit::test_statistic(model, toy, mu, stat, options);
            EXPECT_EQ(valid, ref.valid()) << "toy " << i;
            if (ref.valid()) EXPECT_NEAR(q, ref.value, kQTolerance) << "toy " << i;
        }
        // most toys take the Newton path, not the fallbacks
        const auto& c = fast.counts();
        EXPECT_GT(c.newton_fits + c.minimizer_fits, 0);
        EXPECT_LT(c.reference_toys, static_cast<long long>(count) / 4 + 1);
    }
}

} // namespace

TEST(ToyFits, SimpleModelStatisticsEqualTheFullFits) {
    Simple s;
    for (auto stat :
         {hifit::TestStat::qmu_tilde, hifit::TestStat::qmu, hifit::TestStat::tmu})
        expect_same_statistics(s.model, s.data, 1.0, stat, 0, 100);
    expect_same_statistics(s.model, s.data, 0.0, hifit::TestStat::q0, 0, 100);
}

TEST(ToyFits, AtlasOneLbbStatisticsEqualTheFullFits) {
    // 126 parameters, 14 bins: the model the fast path is for (a few toys; the
    // reference fits take ~30 ms each)
    const std::string dir = kData + "/pyhf/atlas-1Lbb-ins1755298/";
    const hifit::Workspace ws =
        hifit::PatchSet::load(dir + "patchset.json")
            .apply(hifit::Workspace::load(dir + "BkgOnly.json"), "C1N2_Wh_hbb_1000_0");
    const hifit::Model model = ws.model();
    expect_same_statistics(model, ws.data(model), 1.0, hifit::TestStat::qmu_tilde, 0,
                           6);
}

TEST(ToyFits, AtlasOneLbbUnboundedToyFailsAtOnceAsTheReferenceFails) {
    // A toy with no events in a bin whose expected rate the parameters can push below
    // zero: -2 ln L falls without bound (until the box) and no fit converges. The fast
    // path marks it failed as soon as -2 ln L falls below the saturated model's; the
    // reference's fits (all starts, 8x iterations) fail on it too.
    const std::string dir = kData + "/pyhf/atlas-1Lbb-ins1755298/";
    const hifit::Workspace ws =
        hifit::PatchSet::load(dir + "patchset.json")
            .apply(hifit::Workspace::load(dir + "BkgOnly.json"), "C1N2_Wh_hbb_1000_0");
    const hifit::Model model = ws.model();
    const hifit::FitOptions options = hifit::resolved(model, {});
    const Generators gen = generators(model, ws.data(model), options, 1.0);
    hifit::ToySampler sampler(model, gen.sb);
    hifit::ToyTestStatistic fast(model, options, 1.0, hifit::TestStat::qmu_tilde,
                                 gen.sb);
    std::vector<double> toy(sampler.size());
    unsigned long long index = 0;
    for (; index < 40 && fast.counts().unbounded_toys == 0; ++index) {
        sampler.sample(0, index, toy);
        bool valid = true;
        fast.evaluate(toy, valid);
        if (fast.counts().unbounded_toys > 0) EXPECT_FALSE(valid);
    }
    ASSERT_EQ(fast.counts().unbounded_toys, 1) << "no unbounded toy among 40";
    EXPECT_EQ(fast.counts().reference_toys, 0);
    EXPECT_TRUE(std::count(toy.begin(), toy.begin() + model.nmain(), 0.0) > 0);
    const hifit::TestStatResult ref =
        hifit::test_statistic(model, toy, 1.0, hifit::TestStat::qmu_tilde, options);
    EXPECT_FALSE(ref.valid()) << "toy " << index - 1;
    hifit::Likelihood lh(model, toy);
    EXPECT_LT(ref.free_fit.twice_nll, lh.twice_nll_saturated());
}

TEST(ToyFits, HypotestToysFastEqualsReference) {
    // 200 toys per hypothesis: the sorted statistics agree within kQTolerance, and
    // CLs, computed from them by counting, is the same
    Simple s;
    const auto fast = hifit::hypotest_toys(s.model, s.data, 1.0,
                                           hifit::TestStat::qmu_tilde, 200, 3, 1);
    const auto ref =
        hifit::hypotest_toys(s.model, s.data, 1.0, hifit::TestStat::qmu_tilde, 200, 3,
                             1, {}, hifit::ToyFits::reference);
    ASSERT_TRUE(fast.valid && ref.valid) << fast.message << ref.message;
    ASSERT_EQ(fast.q_sb.size(), ref.q_sb.size());
    ASSERT_EQ(fast.q_b.size(), ref.q_b.size());
    for (std::size_t i = 0; i < ref.q_sb.size(); ++i)
        EXPECT_NEAR(fast.q_sb[i], ref.q_sb[i], kQTolerance);
    for (std::size_t i = 0; i < ref.q_b.size(); ++i)
        EXPECT_NEAR(fast.q_b[i], ref.q_b[i], kQTolerance);
    EXPECT_NEAR(fast.cls_obs, ref.cls_obs, 1e-9 * ref.cls_obs);
    for (std::size_t k = 0; k < 5; ++k)
        EXPECT_NEAR(fast.cls_exp[k], ref.cls_exp[k], 1e-9 * ref.cls_exp[k]);
}
