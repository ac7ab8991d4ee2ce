// Every routine that runs fits on several threads (scans, 2D scans, impacts, toys,
// limit-scan segments on one shared calculator) and what the signal grid does from
// Python threads (patches applied, models built and hypotests run concurrently on one
// workspace and patchset): each threaded result equals the serial one. Its own
// executable, so that `make sanitize` builds it alone with ThreadSanitizer.
#include "simple_model.hpp"

#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <thread>

namespace {

// Runs work(t) for t = 0, 1 on two threads at once.
template <class Work> void on_two_threads(Work work) {
    std::thread other([&] { work(1); });
    work(0);
    other.join();
}

} // namespace

TEST(Threads, ScanIsZeroAtTheMinimumAndParallelEqualsSerial) {
    Simple s;
    const std::size_t poi = *s.model.poi_index();
    const std::vector<double> mus{0.0, 0.5, 1.0, 1.5, 2.0, 2.5};
    const auto serial = hifit::scan(s.model, s.data, poi, mus, {}, 1);
    const auto threaded = hifit::scan(s.model, s.data, poi, mus, {}, 2);
    for (std::size_t i = 0; i < mus.size(); ++i) {
        EXPECT_TRUE(serial.valid[i]);
        EXPECT_GE(serial.delta_twice_nll[i], -1e-9);
        EXPECT_NEAR(serial.twice_nll[i], threaded.twice_nll[i], 1e-8);
    }
    // pyhf fixed-POI fit at mu = 1: twice_nll 28.92218013492061 (reference A.1)
    EXPECT_LE(serial.twice_nll[2], 28.92218013492061 + 1e-6);
}

TEST(Threads, ImpactsCovarianceEstimateIsCloseToRefits) {
    const auto ws = hifit::Workspace::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_bkgonly.json");
    const auto model = ws.model();
    const auto data = ws.data(model);
    const auto serial = hifit::impacts(model, data, {}, 1);
    const auto threaded = hifit::impacts(model, data, {}, 2);
    ASSERT_TRUE(serial.valid);
    ASSERT_EQ(serial.pars.size(), 5u); // 7 parameters, lumi fixed, POI excluded
    for (std::size_t k = 0; k < serial.pars.size(); ++k) {
        EXPECT_NEAR(serial.postfit_up[k], threaded.postfit_up[k], 1e-9);
        EXPECT_NEAR(serial.postfit_up[k], serial.cov_postfit[k],
                    0.25 * std::abs(serial.cov_postfit[k]) + 1e-3);
    }
}

TEST(Threads, ToysAreReproducibleAndAgreeWithAsymptotics) {
    Simple s;
    const auto a = hifit::hypotest_toys(s.model, s.data, 1.0,
                                        hifit::TestStat::qmu_tilde, 400, 7, 2);
    const auto b = hifit::hypotest_toys(s.model, s.data, 1.0,
                                        hifit::TestStat::qmu_tilde, 400, 7, 1);
    ASSERT_TRUE(a.valid) << a.message;
    EXPECT_EQ(a.q_sb, b.q_sb); // independent of the number of threads
    EXPECT_EQ(a.cls_obs, b.cls_obs);
    hifit::AsymptoticCalculator calc(s.model, s.data);
    const auto asym = calc.hypotest(1.0);
    // CLsb is a binomial fraction of 400 toys: within 4 standard errors.
    const double se = std::sqrt(asym.clsb_obs * (1 - asym.clsb_obs) / 400);
    EXPECT_NEAR(a.clsb_obs, asym.clsb_obs, 4 * se + 0.01);
}

TEST(Threads, Scan2dParallelEqualsSerial) {
    Simple s;
    const std::size_t poi = *s.model.poi_index();
    const std::size_t gamma = poi == 0 ? 1 : 0;
    const std::vector<double> mus{0.0, 1.0, 2.0}, gammas{0.9, 1.0, 1.1};
    const auto serial = hifit::scan2d(s.model, s.data, poi, mus, gamma, gammas, {}, 1);
    const auto threaded =
        hifit::scan2d(s.model, s.data, poi, mus, gamma, gammas, {}, 2);
    ASSERT_EQ(serial.twice_nll.size(), 9u);
    for (std::size_t i = 0; i < serial.twice_nll.size(); ++i) {
        EXPECT_TRUE(serial.valid[i]);
        EXPECT_EQ(serial.valid[i], threaded.valid[i]);
        EXPECT_NEAR(serial.twice_nll[i], threaded.twice_nll[i], 1e-8);
    }
}

TEST(Threads, OneModelFittedFromTwoThreadsAtOnce) {
    Simple s;
    const auto serial = hifit::fit(s.model, s.data);
    hifit::FitResult results[2];
    on_two_threads([&](int t) { results[t] = hifit::fit(s.model, s.data); });
    for (const auto& r : results) {
        ASSERT_TRUE(r.valid) << r.message;
        EXPECT_EQ(r.bestfit, serial.bestfit);
        EXPECT_EQ(r.twice_nll, serial.twice_nll);
    }
}

// hifit.infer.grid: patches applied to one workspace and hypotests run on threads.
TEST(Threads, SignalGridOnThreadsEqualsSerial) {
    const auto ws = hifit::Workspace::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_bkgonly.json");
    const auto ps = hifit::PatchSet::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_patchset.json");
    // every patch twice, so each thread has work even for a one-patch patchset
    std::vector<std::string> names = ps.names();
    names.insert(names.end(), ps.names().begin(), ps.names().end());
    auto cls = [&](const std::string& name) {
        const auto patched = ps.apply(ws, name);
        const auto model = patched.model();
        hifit::AsymptoticCalculator calc(model, patched.data(model));
        return calc.hypotest(1.0);
    };
    std::vector<hifit::HypoTestResult> serial, threaded(names.size());
    for (const auto& name : names) serial.push_back(cls(name));
    on_two_threads([&](int t) {
        for (std::size_t i = static_cast<std::size_t>(t); i < names.size(); i += 2)
            threaded[i] = cls(names[i]);
    });
    // SignalGrid: one shared background fit, points on its own two threads
    const hifit::SignalGrid grid(ws, ps);
    const auto grid_serial = grid.run(names, 1);
    const auto grid_threaded = grid.run(names, 2);
    for (std::size_t i = 0; i < names.size(); ++i) {
        ASSERT_TRUE(serial[i].valid) << serial[i].message;
        EXPECT_EQ(threaded[i].cls_obs, serial[i].cls_obs);
        EXPECT_EQ(threaded[i].cls_exp, serial[i].cls_exp);
        ASSERT_TRUE(grid_serial[i].valid) << grid_serial[i].message;
        EXPECT_EQ(grid_threaded[i].cls_obs, grid_serial[i].cls_obs);
        EXPECT_EQ(grid_threaded[i].cls_exp, grid_serial[i].cls_exp);
        EXPECT_NEAR(grid_serial[i].cls_obs, serial[i].cls_obs, 1e-6);
    }
}

TEST(Threads, LimitScanSegmentsOnThreadsEqualUpperLimitScan) {
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
