// The piece of pyhf's asymptotic calculator shared by AsymptoticCalculator and the
// signal grid (which runs its fits from its own starting points). Private to the core.
#pragma once

#include <hifit/infer/test_statistics.hpp>

namespace hifit {

// CLs+b, CLb, CLs and the expected band of `r` from its q_obs, q_asimov and
// convention.
void asymptotic_cls(HypoTestResult& r, TestStat stat);

} // namespace hifit
