// The index-range entry points that hifit.executor spreads over threads or Dask
// workers: any split of the range gives exactly (==) the numbers of the whole run.
#include "simple_model.hpp"

#include <hifit/hifit.hpp>
#include <hifit/infer/hybrid_new.hpp>

#include <gtest/gtest.h>

TEST(Ranges, ToyRangesEqualTheWholeToyRun) {
    Simple s;
    const auto whole = hifit::hypotest_toys(s.model, s.data, 1.0,
                                            hifit::TestStat::qmu_tilde, 12, 5, 1);
    const auto plan =
        hifit::toys_plan(s.model, s.data, 1.0, hifit::TestStat::qmu_tilde);
    EXPECT_EQ(plan.q_obs, whole.q_obs);
    // the later range first: where and when a range runs does not matter
    const auto late = hifit::toys_range(s.model, plan, 5, 7, 12);
    const auto early = hifit::toys_range(s.model, plan, 5, 0, 7);
    ASSERT_EQ(late.q_sb.size(), 5u);
    auto joined = [](auto a, const auto& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    const hifit::ToyBatch all{
        joined(early.q_sb, late.q_sb), joined(early.q_b, late.q_b),
        joined(early.ok_sb, late.ok_sb), joined(early.ok_b, late.ok_b)};
    const auto merged = hifit::toys_summary(plan, all);
    EXPECT_EQ(merged.q_sb, whole.q_sb); // sorted, failed toys left out
    EXPECT_EQ(merged.q_b, whole.q_b);
    EXPECT_EQ(merged.cls_obs, whole.cls_obs);
    EXPECT_EQ(merged.cls_exp, whole.cls_exp);
}

TEST(Ranges, OneParameterImpactsEqualTheWholeRanking) {
    const auto ws = hifit::Workspace::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_bkgonly.json");
    const auto model = ws.model();
    const auto data = ws.data(model);
    const auto whole = hifit::impacts(model, data, {}, 2);
    ASSERT_GE(whole.pars.size(), 2u);
    int refits = 0;
    for (std::size_t k = 0; k < whole.pars.size(); ++k) {
        hifit::ImpactOptions how;
        how.begin = k, how.end = k + 1;
        const auto one = hifit::impacts(model, data, {}, 1, &whole.best, how);
        EXPECT_EQ(one.postfit_up[k], whole.postfit_up[k]);
        EXPECT_EQ(one.prefit_down[k], whole.prefit_down[k]);
        refits += one.refits;
    }
    EXPECT_EQ(refits, whole.refits);
}

TEST(Ranges, ScanSegmentsEqualTheThreadedScan) {
    Simple s;
    const std::size_t poi = *s.model.poi_index();
    std::vector<double> mus;
    for (int i = 0; i < 2 * static_cast<int>(hifit::kScanSegment) + 3; ++i)
        mus.push_back(0.1 * i);
    const auto serial = hifit::scan(s.model, s.data, poi, mus, {}, 1);
    const auto threaded = hifit::scan(s.model, s.data, poi, mus, {}, 2);
    EXPECT_EQ(serial.twice_nll, threaded.twice_nll);
    const hifit::ScanGrid grid{{poi}, mus, {}};
    const auto best = hifit::scan_best(s.model, s.data, grid);
    auto fits = hifit::scan_segments(s.model, s.data, grid, {}, best, 1, 3);
    const auto first = hifit::scan_segments(s.model, s.data, grid, {}, best, 0, 1);
    fits.insert(fits.begin(), first.begin(), first.end());
    const auto pieces = hifit::scan_finish(s.model, s.data, grid, {}, best, fits);
    EXPECT_EQ(pieces.twice_nll, serial.twice_nll);
    EXPECT_EQ(pieces.delta_twice_nll, serial.delta_twice_nll);
}

TEST(Ranges, HybridNewToyRangesEqualTheWholeBatch) {
    Simple s;
    const auto options = hifit::FitOptions{};
    const hifit::HybridToyBatch batch{
        1.0, s.model.suggested_init(), s.model.suggested_init(), 4, 7, 11, 1 << 24};
    std::vector<double> q_whole(7), q_parts(7);
    std::vector<char> ok_whole(7), ok_parts(7);
    hifit::hybrid_new_toys(s.model, options, batch, 0, 7, q_whole, ok_whole);
    hifit::hybrid_new_toys(s.model, options, batch, 3, 7, q_parts, ok_parts);
    hifit::hybrid_new_toys(s.model, options, batch, 0, 3, q_parts, ok_parts);
    EXPECT_EQ(q_parts, q_whole);
    EXPECT_EQ(ok_parts, ok_whole);
}
