#include <hifit/histfactory/interpolation.hpp>

#include <cmath>

namespace hifit::interp {

Value code0_from(double up, double down, double alpha) {
    const double slope = alpha > 0 ? up : down;
    return {alpha * slope, slope, 0.0};
}

Value code1_from(double ln_u, double ln_d, double alpha) {
    // kappa = u^alpha above zero, d^-alpha below (pyhf masks on alpha > 0).
    const double ln = alpha > 0 ? ln_u : -ln_d;
    const double kappa = std::exp(alpha * ln);
    return {kappa, kappa * ln, kappa * ln * ln};
}

Value code2_from(double up, double down, double alpha) {
    // pyhf's code2: quadratic inside, linear outside (without ROOT's offset term).
    const double a = 0.5 * (up - down);
    const double b = 0.5 * (up + down);
    if (alpha > 1.0) {
        return {(b + 2.0 * a) * (alpha - 1.0), b + 2.0 * a, 0.0};
    }
    if (alpha < -1.0) {
        return {(b - 2.0 * a) * (alpha + 1.0), b - 2.0 * a, 0.0};
    }
    return {a * alpha * alpha + b * alpha, 2.0 * a * alpha + b, 2.0 * a};
}

Value code4p_from(double up, double down, double alpha) {
    if (alpha > 1.0) {
        return {alpha * up, up, 0.0};
    }
    if (alpha < -1.0) {
        return {alpha * down, down, 0.0};
    }
    const double s = 0.5 * (up + down);
    const double a = (up - down) / 16.0;
    const double a2 = alpha * alpha;
    const double value = alpha * (s + alpha * a * (15.0 + a2 * (-10.0 + 3.0 * a2)));
    const double d1 = s + a * alpha * (30.0 + a2 * (-40.0 + 18.0 * a2));
    const double d2 = a * (30.0 + a2 * (-120.0 + 90.0 * a2));
    return {value, d1, d2};
}

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

Value code4_from(const double poly[6], double ln_u, double ln_d, double alpha) {
    if (alpha >= 1.0) {
        const double kappa = std::exp(alpha * ln_u);
        return {kappa, kappa * ln_u, kappa * ln_u * ln_u};
    }
    if (alpha <= -1.0) {
        const double kappa = std::exp(-alpha * ln_d);
        return {kappa, -kappa * ln_d, kappa * ln_d * ln_d};
    }
    // Horner for 1 + sum_i a_i alpha^i and its derivatives.
    double value = poly[5], d1 = 6.0 * poly[5], d2 = 30.0 * poly[5];
    for (int i = 4; i >= 0; --i) {
        value = value * alpha + poly[i];
    }
    for (int i = 4; i >= 0; --i) {
        d1 = d1 * alpha + (i + 1) * poly[i];
    }
    for (int i = 4; i >= 1; --i) {
        d2 = d2 * alpha + (i + 1) * i * poly[i];
    }
    return {1.0 + value * alpha, d1, d2};
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
