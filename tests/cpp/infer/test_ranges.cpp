// The index-range entry points that hifit.executor spreads over threads or Dask
// workers: any split of the range gives exactly (==) the numbers of the whole run.
#include "simple_model.hpp"

#include <hifit/hifit.hpp>
#include <hifit/infer/hybrid_new.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <thread>

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

TEST(Ranges, LimitScanSegmentsOnThreadsEqualUpperLimitScan) {
    Simple s;
    std::vector<double> mus; // descending: upper_limit_scan sorts before segmenting
    for (int i = 2 * static_cast<int>(hifit::kLimitScanSegment) + 3; i > 0; --i)
        mus.push_back(0.25 * i);
    hifit::AsymptoticCalculator whole_calc(s.model, s.data);
    const auto whole = hifit::upper_limit_scan(whole_calc, mus, 0.05);
    // the segments of the sorted values on threads sharing one calculator, the later
    // segments first
    std::vector<double> sorted(mus.rbegin(), mus.rend());
    const hifit::AsymptoticCalculator calc(s.model, s.data);
    const std::size_t n = hifit::kLimitScanSegment;
    const std::size_t nseg = (sorted.size() + n - 1) / n;
    std::vector<std::vector<hifit::HypoTestResult>> parts(nseg);
    std::vector<std::thread> threads;
    for (std::size_t k = nseg; k-- > 0;) {
        threads.emplace_back([&, k] {
            const std::size_t len = std::min(n, sorted.size() - k * n);
            parts[k] = hifit::limit_scan_range(
                calc, std::span<const double>(sorted).subspan(k * n, len));
        });
    }
    for (auto& t : threads) t.join();
    std::vector<hifit::HypoTestResult> points;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        points.insert(points.end(), it->begin(), it->end()); // unsorted on purpose
    const auto merged = hifit::limit_from_scan(points, 0.05);
    ASSERT_EQ(merged.points.size(), whole.points.size());
    for (std::size_t i = 0; i < whole.points.size(); ++i) {
        EXPECT_EQ(merged.points[i].mu, whole.points[i].mu);
        EXPECT_EQ(merged.points[i].cls_obs, whole.points[i].cls_obs);
        EXPECT_EQ(merged.points[i].cls_exp, whole.points[i].cls_exp);
    }
    EXPECT_EQ(merged.observed, whole.observed);
    EXPECT_EQ(merged.expected, whole.expected);
    EXPECT_EQ(merged.valid, whole.valid);
    EXPECT_TRUE(std::isfinite(whole.observed)) << whole.message;
    // the former serial scan (every fit warm-started from all earlier hypotests):
    // the same curve to fit tolerance
    hifit::AsymptoticCalculator serial(s.model, s.data);
    for (const auto& p : whole.points) {
        const auto r = serial.hypotest(p.mu);
        EXPECT_NEAR(r.cls_obs, p.cls_obs, 1e-6);
        for (std::size_t j = 0; j < 5; ++j)
            EXPECT_NEAR(r.cls_exp[j], p.cls_exp[j], 1e-6);
    }
}
