// HistFactory interpolation codes with exact first and second derivatives in alpha.
// Formulas follow pyhf (src/pyhf/interpolators): (lo, nom, hi) are the values at
// alpha = -1, 0, +1. Additive codes (0, 2, 4p) return the shift Delta added to the
// nominal; multiplicative codes (1, 4) return the factor kappa.
#pragma once

#include <cmath>

namespace hifit::interp {

struct Value {
    double value = 0.0;
    double d1 = 0.0; // d value / d alpha
    double d2 = 0.0; // d^2 value / d alpha^2
};

Value code0(double lo, double nom, double hi, double alpha);
Value code1(double lo, double nom, double hi, double alpha);
Value code2(double lo, double nom, double hi, double alpha);
Value code4(double lo, double nom, double hi, double alpha);
Value code4p(double lo, double nom, double hi, double alpha);

// The six coefficients of code4's polynomial for |alpha| < 1, from u = hi/nom and
// d = lo/nom (pyhf's A^-1 b with alpha0 = 1).
void code4_coefficients(double u, double d, double out[6]);

// The hot path, inline so that callers wanting only the value skip the derivatives:
// code4 from precomputed coefficients and logarithms, code1 from logarithms of u and
// d, the additive codes from up = hi - nom and down = nom - lo.

inline Value code4_from(const double poly[6], double ln_u, double ln_d, double alpha) {
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

inline Value code1_from(double ln_u, double ln_d, double alpha) {
    // kappa = u^alpha above zero, d^-alpha below (pyhf masks on alpha > 0).
    const double ln = alpha > 0 ? ln_u : -ln_d;
    const double kappa = std::exp(alpha * ln);
    return {kappa, kappa * ln, kappa * ln * ln};
}

inline Value code0_from(double up, double down, double alpha) {
    const double slope = alpha > 0 ? up : down;
    return {alpha * slope, slope, 0.0};
}

inline Value code2_from(double up, double down, double alpha) {
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

inline Value code4p_from(double up, double down, double alpha) {
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

} // namespace hifit::interp
