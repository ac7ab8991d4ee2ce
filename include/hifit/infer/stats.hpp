// Distribution functions used by the inference routines.
#pragma once

namespace hifit::stats {

double normal_cdf(double x);      // Phi(x)
double normal_sf(double x);       // 1 - Phi(x), accurate in the tail
double normal_quantile(double p); // Phi^-1(p)
double chi2_sf(double x, double ndof);
// Regularized upper incomplete gamma Q(a, x).
double gamma_q(double a, double x);

// Monte-Carlo (binomial) error of a tail fraction p counted in n toys: sqrt(p(1-p)/n).
double binomial_error(double p, double n);
// Monte-Carlo error of toy CLs = CLs+b / CLb, CLs+b counted in n_sb toys and CLb in
// n_b: the binomial errors of both propagated as RooStats' HypoTestResult::CLsError
// (what Combine's HybridNew prints), sqrt(err_sb^2 + err_b^2 CLs^2) / CLb. NaN where
// CLs does not exist (CLb = 0 or no toys).
double cls_mc_error(double clsb, double n_sb, double clb, double n_b);

} // namespace hifit::stats
