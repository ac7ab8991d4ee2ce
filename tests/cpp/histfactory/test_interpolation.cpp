// Interpolation codes against pyhf's raw interpolator outputs (shared/reference/
// pyhf-model.md, Appendix A.5, computed with pyhf b3dc4bb) and finite differences.
#include <hifit/histfactory/interpolation.hpp>

#include <gtest/gtest.h>

#include <functional>

using hifit::interp::Value;
using Code = std::function<Value(double, double, double, double)>;

namespace {

struct Row {
    double alpha, code0, code1, code2, code4, code4p;
};

// lo = 0.8, nom = 1, hi = 1.3 (pyhf Appendix A.5, first table)
const Row kSymmetric[] = {
    {-3.0, -0.5999999999999999, 0.5120000000000001, -0.2999999999999998,
     0.5120000000000001, -0.5999999999999999},
    {-1.5, -0.29999999999999993, 0.7155417527999328, -0.07499999999999996,
     0.7155417527999328, -0.29999999999999993},
    {-0.5, -0.09999999999999998, 0.8944271909999159, -0.11249999999999999,
     0.8922758384262899, -0.10517578124999999},
    {-0.25, -0.04999999999999999, 0.9457416090031758, -0.059375, 0.942846438032475,
     -0.05688018798828125},
    {0.25, 0.07500000000000001, 1.0677899723724407, 0.065625, 1.0653005984783916,
     0.06811981201171875},
    {0.5, 0.15000000000000002, 1.1401754250991378, 0.1375, 1.1382825993648467,
     0.14482421875},
    {0.999, 0.2997, 1.2996589711950344, 0.29965005000000006, 1.2996589711487359,
     0.29969999987521867},
    {1.5, 0.45000000000000007, 1.4822280526288796, 0.17500000000000004,
     1.4822280526288796, 0.45000000000000007},
    {3.0, 0.9000000000000001, 2.197, 0.7000000000000002, 2.197, 0.9000000000000001},
};

// lo = 11, nom = 10, hi = 13 (same-side additive table)
const Row kSameSide[] = {
    {-2.0, 2.0, 1.2100000000000002, 3.0, 1.2100000000000002, 2.0},
    {-0.5, 0.5, 1.0488088481701514, 0.0, 1.029911335012118, 0.29296875},
    {-0.25, 0.25, 1.0241136890844451, -0.125, 0.9988840648724233, -0.02520751953125},
    {0.25, 0.75, 1.0677899723724407, 0.375, 1.0438359760493188, 0.47479248046875},
    {0.5, 1.5, 1.1401754250991378, 1.0, 1.1220910683426824, 1.29296875},
    {2.0, 6.0, 1.69, 5.0, 1.69, 6.0},
};

void check_table(const Row* rows, std::size_t n, double lo, double nom, double hi) {
    for (std::size_t i = 0; i < n; ++i) {
        const Row& r = rows[i];
        EXPECT_NEAR(hifit::interp::code0(lo, nom, hi, r.alpha).value, r.code0, 1e-14);
        EXPECT_NEAR(hifit::interp::code1(lo, nom, hi, r.alpha).value, r.code1, 1e-14);
        EXPECT_NEAR(hifit::interp::code2(lo, nom, hi, r.alpha).value, r.code2, 1e-14);
        EXPECT_NEAR(hifit::interp::code4(lo, nom, hi, r.alpha).value, r.code4, 1e-14);
        EXPECT_NEAR(hifit::interp::code4p(lo, nom, hi, r.alpha).value, r.code4p, 1e-13);
    }
}

} // namespace

TEST(Interpolation, MatchesPyhfSymmetricTable) {
    check_table(kSymmetric, std::size(kSymmetric), 0.8, 1.0, 1.3);
}

TEST(Interpolation, MatchesPyhfSameSideTable) {
    check_table(kSameSide, std::size(kSameSide), 11.0, 10.0, 13.0);
}

TEST(Interpolation, DerivativesMatchFiniteDifferences) {
    const Code codes[] = {hifit::interp::code0, hifit::interp::code1,
                          hifit::interp::code2, hifit::interp::code4,
                          hifit::interp::code4p};
    const double h = 1e-5;
    for (const auto& code : codes) {
        for (double alpha : {-2.3, -0.7, -0.2, 0.13, 0.6, 0.95, 1.7}) {
            const Value v = code(0.85, 1.0, 1.2, alpha);
            const double d1 = (code(0.85, 1.0, 1.2, alpha + h).value -
                               code(0.85, 1.0, 1.2, alpha - h).value) /
                              (2 * h);
            const double d2 = (code(0.85, 1.0, 1.2, alpha + h).d1 -
                               code(0.85, 1.0, 1.2, alpha - h).d1) /
                              (2 * h);
            EXPECT_NEAR(v.d1, d1, 1e-8) << "alpha " << alpha;
            EXPECT_NEAR(v.d2, d2, 1e-7) << "alpha " << alpha;
        }
    }
}
