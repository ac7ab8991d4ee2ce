// Pseudo-experiments and toy-based CLs.
#pragma once

#include <hifit/infer/test_statistics.hpp>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace hifit {

struct ToyResult {
    double q_obs = 0.0;
    std::vector<double> q_sb; // test statistic of signal+background toys
    std::vector<double> q_b;  // of background-only toys
    double cls_obs = 0.0, clsb_obs = 0.0, clb_obs = 0.0;
    double cls_obs_err = 0.0; // Monte-Carlo error of cls_obs (stats::cls_mc_error)
    std::array<double, 5> cls_exp{};
    int failed_toys = 0;
    bool valid = false;
    std::string message;
};

// One pseudo-experiment around `pars`: Poisson main data, Gaussian / Poisson auxiliary
// data, drawn from a generator seeded by (seed, index) so results do not depend on the
// number of threads.
std::vector<double> sample_toy(const Model& model, std::span<const double> pars,
                               unsigned long long seed, unsigned long long index);

// Combine's default toys (without --toysFrequentist): every constrained parameter
// drawn from its constraint given the observed auxiliary data `data` (a Gaussian
// around it, a gmN's Gamma(N + 1) / tau), redrawn while outside `bounds`; `fixed` ones
// (frozen, or -S 0) stay at `pars`. Poisson main data at those values (the others from
// `pars`); the auxiliary data kept as observed.
std::vector<double> sample_toy_prior(const Model& model, std::span<const double> pars,
                                     std::span<const double> data,
                                     std::span<const std::pair<double, double>> bounds,
                                     const std::vector<bool>& fixed,
                                     unsigned long long seed, unsigned long long index);

// How each toy's test statistic is computed. `reference`: test_statistic's fits from
// the initial values (several starts, continuation). `fast` (the default): the fits
// start at the toy's generating point and take Newton steps, the conditional fit is
// skipped where q does not depend on it, and the reference fits are the fallback
// (see infer/toy_fits.hpp); q agrees with the reference to the fits' tolerance.
enum class ToyFits { fast, reference };

// Toy-based CLs in three steps, so toys can run anywhere (threads, Dask workers):
// the fits to the observed data, toys [begin, end) with their test statistics, and
// the CLs from all toys. A toy's numbers depend on (seed, toy index) alone.
struct ToyPlan {
    double mu = 0.0;
    TestStat stat = TestStat::qmu_tilde;
    double q_obs = 0.0;
    std::vector<double> sb_pars, b_pars; // where the toys are thrown
    std::string message;                 // a fit to the observed data that failed
};
struct ToyBatch {
    std::vector<double> q_sb, q_b; // per toy
    std::vector<char> ok_sb, ok_b; // its fits converged
};
ToyPlan toys_plan(const Model& model, std::span<const double> data, double mu,
                  TestStat stat, const FitOptions& base = {});
ToyBatch toys_range(const Model& model, const ToyPlan& plan, unsigned long long seed,
                    std::size_t begin, std::size_t end, const FitOptions& base = {},
                    ToyFits fits = ToyFits::fast);
ToyResult toys_summary(const ToyPlan& plan, const ToyBatch& toys);

// Toy-based CLs (pyhf's ToyCalculator semantics): the three steps on `jobs` threads.
ToyResult hypotest_toys(const Model& model, std::span<const double> data, double mu,
                        TestStat stat, int ntoys, unsigned long long seed = 0,
                        int jobs = 1, const FitOptions& base = {},
                        ToyFits fits = ToyFits::fast);

} // namespace hifit
