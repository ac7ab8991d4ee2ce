// Test statistics and pyhf's asymptotic calculator (CLs of one hypothesis), the
// conventions where pyhf and Combine differ, and the Asimov data sets.
#pragma once

#include <hifit/fit/minimizer.hpp>
#include <hifit/likelihood/model.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace hifit {

// pyhf's test statistics (infer/test_statistics.py). The "tilde" variants differ only
// in their asymptotic distribution; the POI bounds decide whether mu-hat may go
// negative.
enum class TestStat { q0, qmu, qmu_tilde, tmu, tmu_tilde };

const char* to_string(TestStat stat);

// Whose conventions the asymptotic results follow where pyhf and Combine differ:
// expected bands at -2..+2 sigma of the background-only test statistic (pyhf) or at
// its 2.5/16/50/84/97.5 % quantiles (Combine's AsymptoticLimits), and the Asimov data
// set of the expected significance (see ExpectedAsimov). `automatic` picks Combine's
// for models built from datacards and pyhf's otherwise.
enum class Convention { automatic, pyhf, combine };

const char* to_string(Convention convention);
// `automatic` resolved for `model`.
Convention resolve(Convention convention, const Model& model);
// N of the five expected curves, smallest CLs first: the background-only experiment
// whose sqrt(q_mu) fluctuates by N around its median.
std::array<double, 5> expected_band_sigmas(Convention convention);

struct TestStatResult {
    double value = 0.0;
    FitResult free_fit;
    FitResult fixed_fit;
    bool valid() const { return free_fit.valid && fixed_fit.valid; }
};

// The statistic from the two fits: t = max(2NLL(mu, theta-hat-hat) - 2NLL(mu-hat,
// theta-hat), 0), set to 0 for q_mu and q~_mu when mu-hat > mu and for q0 when mu-hat
// < 0 (pyhf's definitions).
double statistic_value(TestStat stat, double mu, double muhat, double fixed_nll,
                       double free_nll);
// Whether statistic_value depends on fixed_nll at this mu-hat (the fit with the POI
// fixed is needed).
bool needs_fixed_fit(TestStat stat, double mu, double muhat);

// Evaluates a test statistic at POI value `mu` (two fits). `free_fit` may carry an
// already computed unconditional fit (its bestfit is reused).
TestStatResult test_statistic(const Model& model, std::span<const double> data,
                              double mu, TestStat stat, const FitOptions& base = {},
                              const FitResult* free_fit = nullptr);

struct HypoTestResult {
    double mu = 0.0;
    double cls_obs = 0.0, clsb_obs = 0.0, clb_obs = 0.0;
    // Expected CLs for a background-only experiment at +2, +1, 0, -1, -2 sigma of the
    // test statistic: pyhf's order, smallest CLs first. For q0: expected p-values.
    std::array<double, 5> cls_exp{};
    double q_obs = 0.0;                       // test statistic on data
    double q_asimov = 0.0;                    // test statistic on the Asimov data set
    Convention convention = Convention::pyhf; // of the expected bands
    bool valid = false;
    std::string message; // which fit failed, if any
};

// The Asimov data set at POI = 1 of the expected significance. `postfit`: nuisances
// fitted to data with the POI fixed at 1, auxiliary data at the fitted values (pyhf;
// Combine's `-t -1 --expectSignal 1 --toysFrequentist`). `prefit`: nuisances at their
// initial values, the observed auxiliary data (Combine's default `-t -1
// --expectSignal 1`). `automatic`: pre-fit under Combine's convention, else post-fit.
enum class ExpectedAsimov { automatic, prefit, postfit };

const char* to_string(ExpectedAsimov kind);

// pyhf's AsymptoticCalculator (arXiv:1007.1727), which Combine's AsymptoticLimits
// shares: the Asimov data set is generated at the fit to data with mu fixed (0; 1 for
// q0), auxiliary data at the fitted nuisance values. The unconditional fits and the
// Asimov data set do not depend on the tested mu, so they are computed once; each
// hypotest then costs two warm-started fits. Not thread safe: use one calculator per
// thread.
class AsymptoticCalculator {
  public:
    // `asimov`: the Asimov data set of q_A and the expected limits; prefit is
    // Combine's AsymptoticLimits --noFitAsimov (and --run blind).
    AsymptoticCalculator(const Model& model, std::span<const double> data,
                         TestStat stat = TestStat::qmu_tilde, FitOptions base = {},
                         Convention convention = Convention::automatic,
                         ExpectedAsimov asimov = ExpectedAsimov::postfit);

    HypoTestResult hypotest(double mu);
    // Hypotests at `mus` in this order, each fixed-POI fit warm-started from the free
    // fits and the solutions of the earlier `mus` only (not from the calculator's
    // other hypotests): the results depend on `mus` alone. Leaves the calculator
    // untouched, so threads may call it at once.
    std::vector<HypoTestResult> hypotests(std::span<const double> mus) const;
    // q_mu on the Asimov data alone (one fit): the expected limits solve
    // sqrt(q_A(mu)) = N + Phi^-1(1 - level Phi(N)) on it.
    double asimov_qmu(double mu, std::string* failure = nullptr);

    const std::vector<double>& asimov_data() const { return asimov_data_; }
    const FitResult& free_fit() const { return free_data_; }
    const FitResult& asimov_free_fit() const { return free_asimov_; }
    const Model& model() const { return model_; }
    TestStat stat() const { return stat_; }
    Convention convention() const { return convention_; }
    // Widens the upper bound of the POI (limits beyond the model's bound).
    void set_poi_upper_bound(double hi);
    double poi_upper_bound() const;

  private:
    Model model_;
    std::vector<double> data_;
    TestStat stat_;
    Convention convention_;
    FitOptions base_;
    std::size_t poi_;
    FitResult free_data_, asimov_fit_, free_asimov_;
    std::vector<double> asimov_data_;
    Likelihood lh_data_, lh_asimov_;
    HypoTestResult
    hypotest_on(double mu, Likelihood& lh_data, Likelihood& lh_asimov,
                std::map<double, std::vector<double>>& solved_data,
                std::map<double, std::vector<double>>& solved_asimov) const;
    // solutions of the fits with the POI fixed, by POI value: starts for the next ones
    std::map<double, std::vector<double>> solved_data_, solved_asimov_;
};

// Main and auxiliary Asimov data at POI = `mu` (see ExpectedAsimov; `automatic` is
// post-fit). `generating_fit` receives the fit to data of a post-fit Asimov set.
std::vector<double> asimov_data(const Model& model, std::span<const double> data,
                                double mu, ExpectedAsimov kind,
                                const FitOptions& base = {},
                                FitResult* generating_fit = nullptr);

} // namespace hifit
