#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

namespace {
const std::string kData = HIFIT_SHARED_DATA;
}

// pyhf's SLSQP minimum for the 2-bin example is 23.19636590468879 (reference A.1).
TEST(Fit, ReachesPyhfMinimumOnTwoBinExample) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/pyhf-docs-json/2-bin_1-channel.json");
    const auto model = ws.model();
    const auto res = hifit::fit(model, ws.data(model));
    EXPECT_TRUE(res.valid) << res.message;
    EXPECT_LE(res.twice_nll, 23.19636590468879 + 1e-6);
}

TEST(Fit, FixedParametersStayPut) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/pyhf-docs-json/2-bin_1-channel.json");
    const auto model = ws.model();
    hifit::FitOptions options;
    options.init = model.suggested_init();
    options.fixed = model.suggested_fixed();
    options.init[0] = 1.0;
    options.fixed[0] = true;
    const auto res = hifit::fit(model, ws.data(model), options);
    EXPECT_TRUE(res.valid);
    EXPECT_EQ(res.bestfit[0], 1.0);
    EXPECT_EQ(res.uncertainty[0], 0.0);
    // pyhf fixed-POI fit at mu = 1: twice_nll 24.03431464368191 (reference A.1).
    EXPECT_LE(res.twice_nll, 24.03431464368191 + 1e-6);
}

TEST(Fit, ConvergesOn1LbbPatch) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json");
    const auto patched =
        hifit::PatchSet::load(kData + "/pyhf/atlas-1Lbb-ins1755298/patchset.json")
            .apply(ws, "C1N2_Wh_hbb_700_400");
    const auto model = patched.model();
    const auto res = hifit::fit(model, patched.data(model));
    EXPECT_TRUE(res.valid) << res.message;
    // pyhf SLSQP reaches 218.40815201464233 on this patch (reference A.4).
    EXPECT_LE(res.twice_nll, 218.40815201464233 + 1e-6);
}
