// The pieces of pyhf's asymptotic calculator shared by AsymptoticCalculator and the
// signal grid (which runs its fits from its own starting points). Private to the core.
#pragma once

#include <hifit/infer/test_statistics.hpp>

namespace hifit {

// pyhf: t = max(2NLL(mu, theta-hat-hat) - 2NLL(mu-hat, theta-hat), 0), set to 0 for
// q_mu when mu-hat > mu and for q0 when mu-hat < 0.
double statistic_value(TestStat stat, double mu, double muhat, double fixed_nll,
                       double free_nll);

// CLs+b, CLb, CLs and the expected band of `r` from its q_obs, q_asimov and
// convention.
void asymptotic_cls(HypoTestResult& r, TestStat stat);

} // namespace hifit
