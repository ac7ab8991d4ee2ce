// SignalGrid: every point equals the general AsymptoticCalculator on the patched
// workspace, whatever the threads or the order of the points.
#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

const std::string kLbb =
    std::string(HIFIT_SHARED_DATA) + "/pyhf/atlas-1Lbb-ins1755298/";

} // namespace

TEST(Grid, PointsMatchTheAsymptoticCalculatorOnEveryThreadSplit) {
    const auto background = hifit::Workspace::load(kLbb + "BkgOnly.json");
    const auto patchset = hifit::PatchSet::load(kLbb + "patchset.json");
    // 650_0: the fit at POI = 1 from the free fit finds a higher minimum than the one
    // from the initial values; 350_100: the same on the Asimov data.
    const std::vector<std::string> names{"C1N2_Wh_hbb_1000_0", "C1N2_Wh_hbb_650_0",
                                         "C1N2_Wh_hbb_350_100"};
    const hifit::SignalGrid grid(background, patchset);
    const auto one_thread = grid.run(names, 1);
    const auto two_threads = grid.run(names, 2);
    const std::vector<std::string> reversed(names.rbegin(), names.rend());
    const auto backwards = grid.run(reversed, 2);
    for (std::size_t i = 0; i < names.size(); ++i) {
        SCOPED_TRACE(names[i]);
        const auto ws = patchset.apply(background, names[i]);
        const auto model = ws.model();
        hifit::AsymptoticCalculator calc(model, ws.data(model));
        const auto ref = calc.hypotest(1.0);
        const auto& r = one_thread[i];
        ASSERT_TRUE(r.valid) << r.message;
        EXPECT_NEAR(r.cls_obs, ref.cls_obs, 1e-6 + 1e-4 * ref.cls_obs);
        for (std::size_t k = 0; k < 5; ++k)
            EXPECT_NEAR(r.cls_exp[k], ref.cls_exp[k], 1e-9 + 1e-4 * ref.cls_exp[k]);
        // independent of the thread and of the other points: bit for bit
        EXPECT_EQ(r.cls_obs, two_threads[i].cls_obs);
        EXPECT_EQ(r.cls_exp, two_threads[i].cls_exp);
        EXPECT_EQ(r.cls_obs, backwards[names.size() - 1 - i].cls_obs);
    }
    // an index range is the same as its names
    const auto& all = patchset.names();
    const auto range = grid.run_range(3, 5, 2);
    const auto named = grid.run({all[3], all[4]}, 1);
    ASSERT_EQ(range.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(range[i].cls_exp, named[i].cls_exp);
    EXPECT_THROW(grid.run_range(4, all.size() + 1), hifit::InvalidArgument);
}
