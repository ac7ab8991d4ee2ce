// HistFactory interpolation codes with exact first and second derivatives in alpha.
// Formulas follow pyhf (src/pyhf/interpolators): (lo, nom, hi) are the values at
// alpha = -1, 0, +1. Additive codes (0, 2, 4p) return the shift Delta added to the
// nominal; multiplicative codes (1, 4) return the factor kappa.
#pragma once

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

// code4 from precomputed coefficients and logarithms (the hot path).
Value code4_from(const double poly[6], double ln_u, double ln_d, double alpha);
// code1 from logarithms of u and d.
Value code1_from(double ln_u, double ln_d, double alpha);
// Additive codes from up = hi - nom and down = nom - lo.
Value code0_from(double up, double down, double alpha);
Value code2_from(double up, double down, double alpha);
Value code4p_from(double up, double down, double alpha);

} // namespace hifit::interp
