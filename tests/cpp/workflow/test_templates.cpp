// "353QH, twice" smoothing against cabinetry's reference vectors (shared/reference/
// cabinetry.md §13.5, from cabinetry's tests/test_smooth.py, published with 8
// significant digits) and against cabinetry 0.6.0's full-precision outputs.
#include <hifit/errors.hpp>
#include <hifit/workflow/templates.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

using hifit::templates::smooth_353qh_twice;
using hifit::templates::smooth_variation_353qh_twice;

namespace {

struct Case {
    std::vector<double> input, published, exact;
};

const Case kCases[] = {
    {{1, 3, 2, 5}, {1, 2, 3.25, 5}, {1.0, 2.0, 3.25, 5.0}},
    {{1, 3, 2, 5, 11, 3, 8},
     {1.0, 2.125, 3.66666675, 5.08333349, 6.16666651, 7.375, 8.0},
     {1.0, 2.125, 3.6666666666666665, 5.083333333333333, 6.166666666666667, 7.375,
      8.0}},
    {{1, 3}, {1, 3}, {1, 3}}, // fewer than 3 bins: unchanged
    {{0.16505027, 0.9246096, 0.04765633, 0.36997846, 0.37872216},
     {0.16505027, 0.21628231, 0.31874642, 0.36997846, 0.36997846},
     {0.16505027, 0.2162823175, 0.3187464125, 0.36997846, 0.36997846}},
    // a negative input: no clipping at 0
    {{0.29093575, 0.9347465, 0.2972376, 0.61081952, -1.0},
     {0.29093575, 0.52901053, 0.47264278, -0.06587567, -1.0},
     {0.29093575, 0.5290105379166666, 0.47264276593749993, -0.065875674375, -1.0}},
};

} // namespace

TEST(Smoothing, PublishedReferenceVectors) {
    for (const Case& c : kCases) {
        const std::vector<double> out = smooth_353qh_twice(c.input);
        ASSERT_EQ(out.size(), c.published.size());
        for (std::size_t i = 0; i < out.size(); ++i)
            EXPECT_NEAR(out[i], c.published[i], 1e-7 * std::abs(c.published[i]) + 1e-8)
                << "bin " << i;
    }
}

TEST(Smoothing, CabinetryFullPrecision) {
    for (const Case& c : kCases) {
        const std::vector<double> out = smooth_353qh_twice(c.input);
        ASSERT_EQ(out.size(), c.exact.size());
        for (std::size_t i = 0; i < out.size(); ++i)
            EXPECT_DOUBLE_EQ(out[i], c.exact[i]) << "bin " << i;
    }
}

TEST(Smoothing, ClipsAtZeroOnlyWithoutNegativeInput) {
    // Unclipped, the third bin would be -0.1875 (cabinetry 0.6.0 gives 0).
    const std::vector<double> input{0, 37, 0, 0, 3, 12};
    const std::vector<double> clipped{0, 0, 0, 0.1875, 3, 8.25};
    EXPECT_EQ(smooth_353qh_twice(input), clipped);
    // The algorithm commutes with a shift; a negative input disables the clipping.
    std::vector<double> shifted = input;
    for (double& v : shifted) v -= 1000;
    const std::vector<double> out = smooth_353qh_twice(shifted);
    EXPECT_DOUBLE_EQ(out[2] + 1000, -0.1875);
    const std::vector<double> empty;
    EXPECT_TRUE(smooth_353qh_twice(empty).empty());
}

TEST(Smoothing, VariationKeepsItsIntegral) {
    // cabinetry 0.6.0, templates.postprocessor._apply_353qh_twice
    const std::vector<double> nominal{10, 12, 15, 11, 7};
    const std::vector<double> variation{11, 12.5, 17, 11.2, 8};
    const std::vector<double> expected{10.725802061053859, 12.870962473264631,
                                       16.210587205910947, 12.092064942640482,
                                       7.800583317130079};
    const std::vector<double> out = smooth_variation_353qh_twice(variation, nominal);
    ASSERT_EQ(out.size(), expected.size());
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_DOUBLE_EQ(out[i], expected[i]);
    EXPECT_NEAR(std::accumulate(out.begin(), out.end(), 0.0), 59.7, 1e-12);
}

TEST(Smoothing, VariationSizeMismatchThrows) {
    const std::vector<double> nominal{1, 2, 3};
    const std::vector<double> variation{1, 2};
    EXPECT_THROW(smooth_variation_353qh_twice(variation, nominal),
                 hifit::InvalidArgument);
}
