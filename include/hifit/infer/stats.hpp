// Distribution functions used by the inference routines.
#pragma once

namespace hifit::stats {

double normal_cdf(double x);      // Phi(x)
double normal_sf(double x);       // 1 - Phi(x), accurate in the tail
double normal_quantile(double p); // Phi^-1(p)
double chi2_sf(double x, double ndof);
// Regularized upper incomplete gamma Q(a, x).
double gamma_q(double a, double x);

} // namespace hifit::stats
