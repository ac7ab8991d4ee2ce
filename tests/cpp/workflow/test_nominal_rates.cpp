// nominal_by_sample (pyhf's Model.nominal_rates) against the samples' data read
// straight from the workspace JSON.
#include <hifit/hifit.hpp>
#include <hifit/workflow/prediction.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string>

namespace {

const std::string kData = HIFIT_SHARED_DATA;

void check_against_json(const std::string& path) {
    hifit::ModelOptions options;
    options.poi_name = ""; // background-only workspaces: no POI
    const auto model = hifit::Workspace::load(kData + path).model(options);
    std::ifstream in(kData + path);
    const auto spec = nlohmann::json::parse(in);
    const auto& channels = model.channels();
    const auto& samples = model.samples();
    const std::size_t nmain = model.nmain();
    const auto rates = hifit::nominal_by_sample(model);
    ASSERT_EQ(rates.size(), samples.size() * nmain);

    std::vector<double> expected(rates.size(), 0.0);
    for (const auto& channel : spec["channels"]) {
        const auto c = static_cast<std::size_t>(
            std::find(channels.begin(), channels.end(), channel["name"]) -
            channels.begin());
        std::size_t offset = 0;
        for (std::size_t k = 0; k < c; ++k) offset += model.channel_nbins()[k];
        for (const auto& sample : channel["samples"]) {
            const auto s = static_cast<std::size_t>(
                std::find(samples.begin(), samples.end(), sample["name"]) -
                samples.begin());
            const auto& data = sample["data"];
            for (std::size_t b = 0; b < data.size(); ++b) {
                expected[s * nmain + offset + b] = data[b].get<double>();
            }
        }
    }
    EXPECT_EQ(rates, expected) << path;
}

TEST(NominalRates, EqualTheSampleDataOfTheWorkspace) {
    check_against_json(
        "/pyhf/validation-workspaces/validation_2bin_2channel_coupledhistosys.json");
    check_against_json("/pyhf/atlas-sbottom-ins1748602/RegionA/BkgOnly.json");
    check_against_json("/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json");
}

} // namespace
