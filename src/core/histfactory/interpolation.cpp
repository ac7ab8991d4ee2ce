#include <hifit/histfactory/interpolation.hpp>

#include <cmath>

namespace hifit::interp {

void code4_coefficients(double u, double d, double out[6]) {
    const double lu = std::log(u), ld = std::log(d);
    const double b[6] = {u - 1.0, d - 1.0, lu * u, -ld * d, lu * lu * u, ld * ld * d};
    static constexpr double inv[6][6] = {
        {15.0 / 16, -15.0 / 16, -7.0 / 16, -7.0 / 16, 1.0 / 16, -1.0 / 16},
        {3.0 / 2, 3.0 / 2, -9.0 / 16, 9.0 / 16, 1.0 / 16, 1.0 / 16},
        {-5.0 / 8, 5.0 / 8, 5.0 / 8, 5.0 / 8, -1.0 / 8, 1.0 / 8},
        {-3.0 / 2, -3.0 / 2, 7.0 / 8, -7.0 / 8, -1.0 / 8, -1.0 / 8},
        {3.0 / 16, -3.0 / 16, -3.0 / 16, -3.0 / 16, 1.0 / 16, -1.0 / 16},
        {1.0 / 2, 1.0 / 2, -5.0 / 16, 5.0 / 16, 1.0 / 16, 1.0 / 16}};
    for (int i = 0; i < 6; ++i) {
        double sum = 0.0;
        for (int j = 0; j < 6; ++j) {
            sum += inv[i][j] * b[j];
        }
        out[i] = sum;
    }
}

Value code0(double lo, double nom, double hi, double alpha) {
    return code0_from(hi - nom, nom - lo, alpha);
}

Value code1(double lo, double nom, double hi, double alpha) {
    return code1_from(std::log(hi / nom), std::log(lo / nom), alpha);
}

Value code2(double lo, double nom, double hi, double alpha) {
    return code2_from(hi - nom, nom - lo, alpha);
}

Value code4(double lo, double nom, double hi, double alpha) {
    const double u = hi / nom, d = lo / nom;
    double poly[6];
    code4_coefficients(u, d, poly);
    return code4_from(poly, std::log(u), std::log(d), alpha);
}

Value code4p(double lo, double nom, double hi, double alpha) {
    return code4p_from(hi - nom, nom - lo, alpha);
}

} // namespace hifit::interp
