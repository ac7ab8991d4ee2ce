// Statistical inference on a compiled model: test statistics, asymptotic CLs, upper
// limits, significances, profile scans, MINOS intervals, impacts, goodness of fit.
// Every routine reports fits that did not converge instead of hiding them in a number.
#pragma once

#include <hifit/fit.hpp>
#include <hifit/model.hpp>

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

// pyhf's AsymptoticCalculator (arXiv:1007.1727), which Combine's AsymptoticLimits
// shares: the Asimov data set is generated at the fit to data with mu fixed (0; 1 for
// q0), auxiliary data at the fitted nuisance values. The unconditional fits and the
// Asimov data set do not depend on the tested mu, so they are computed once; each
// hypotest then costs two warm-started fits. Not thread safe: use one calculator per
// thread.
class AsymptoticCalculator {
  public:
    AsymptoticCalculator(const Model& model, std::span<const double> data,
                         TestStat stat = TestStat::qmu_tilde, FitOptions base = {},
                         Convention convention = Convention::automatic);

    HypoTestResult hypotest(double mu);
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
    // solutions of the fits with the POI fixed, by POI value: starts for the next ones
    std::map<double, std::vector<double>> solved_data_, solved_asimov_;
};

struct UpperLimitResult {
    double observed = 0.0;
    std::array<double, 5> expected{};         // in the order of HypoTestResult::cls_exp
    std::vector<HypoTestResult> points;       // every hypotest evaluated, sorted by mu
    Convention convention = Convention::pyhf; // of the expected limits
    bool valid = false;                       // every fit converged
    std::string message;                      // the fits that did not
    std::string notes; // limits that do not exist (NaN) or lie beyond the POI bound
};

// Upper limits at CLs = level by bracketed root finding (Brent): on the observed CLs
// curve, and for each expected limit on the profile crossing of the Asimov likelihood,
// sqrt(q_A(mu)) = N + Phi^-1(1 - level Phi(N)) (the same equation as CLs_exp = level,
// and Combine's findExpectedLimitFromCrossing, solved to rtol instead of Combine's
// rRelAcc = 0.5 %).
UpperLimitResult upper_limit(AsymptoticCalculator& calc, double level = 0.05,
                             double rtol = 1e-6);
// Limits read off a fixed scan by linear interpolation (pyhf's linear_grid_scan).
UpperLimitResult upper_limit_scan(AsymptoticCalculator& calc,
                                  std::span<const double> mus, double level = 0.05);

// The Asimov data set at POI = 1 of the expected significance. `postfit`: nuisances
// fitted to data with the POI fixed at 1, auxiliary data at the fitted values (pyhf;
// Combine's `-t -1 --expectSignal 1 --toysFrequentist`). `prefit`: nuisances at their
// initial values, the observed auxiliary data (Combine's default `-t -1
// --expectSignal 1`). `automatic`: pre-fit under Combine's convention, else post-fit.
enum class ExpectedAsimov { automatic, prefit, postfit };

const char* to_string(ExpectedAsimov kind);

// Main and auxiliary Asimov data at POI = `mu` (see ExpectedAsimov; `automatic` is
// post-fit). `generating_fit` receives the fit to data of a post-fit Asimov set.
std::vector<double> asimov_data(const Model& model, std::span<const double> data,
                                double mu, ExpectedAsimov kind,
                                const FitOptions& base = {},
                                FitResult* generating_fit = nullptr);

struct SignificanceResult {
    double observed_p = 0.0, observed_z = 0.0;
    double expected_p = 0.0, expected_z = 0.0;
    double q0_obs = 0.0, q0_asimov = 0.0;
    Convention convention = Convention::pyhf;
    ExpectedAsimov expected = ExpectedAsimov::postfit;
    bool valid = false;
    std::string message;
};

// Discovery significance with q0 (mu-hat >= 0 counts, as in pyhf and Combine):
// Z = sqrt(q0), never through the p-value, so Z stays finite where p underflows;
// p = 1 - Phi(Z). Expected: the same on the Asimov data set at mu = 1.
SignificanceResult significance(const Model& model, std::span<const double> data,
                                const FitOptions& base = {},
                                Convention convention = Convention::automatic,
                                ExpectedAsimov expected = ExpectedAsimov::automatic);

struct ScanResult {
    std::vector<std::size_t> pars;       // scanned parameter(s)
    std::vector<double> values_x;        // grid of the first parameter
    std::vector<double> values_y;        // grid of the second (2D scans only)
    std::vector<double> twice_nll;       // row-major over (x, y)
    std::vector<double> delta_twice_nll; // twice_nll - minimum of the free fit
    std::vector<bool> valid;
    FitResult best;
};

// A fit with parameter `par` fixed at `value`, at least as low as the fits started
// from the unconditional solution (`free`, fitted here if not given), from it
// followed to `value` by continuation, from base.init and from the model's suggested
// values. Its covariance is computed if base.compute_covariance.
FitResult profile_fit(const Model& model, std::span<const double> data, std::size_t par,
                      double value, const FitOptions& base = {},
                      const FitResult* free = nullptr);

// Profile-likelihood scans. Each point is fitted from the unconditional solution, from
// its neighbours on both sides (a forward and a backward sweep) and from pyhf's start,
// the lowest minimum kept; a point below the unconditional minimum re-seeds that fit.
// Chunks of the grid run on `jobs` threads.
ScanResult scan(const Model& model, std::span<const double> data, std::size_t par,
                std::span<const double> values, const FitOptions& base = {},
                int jobs = 1);
ScanResult scan2d(const Model& model, std::span<const double> data, std::size_t par_x,
                  std::span<const double> values_x, std::size_t par_y,
                  std::span<const double> values_y, const FitOptions& base = {},
                  int jobs = 1);

struct MinosResult {
    double lower = 0.0; // negative offset from the best fit
    double upper = 0.0; // positive offset
    bool lower_at_bound = false, upper_at_bound = false;
    bool valid = false;
    std::string message;
};

// Asymmetric interval where the profile -2 ln L rises by `delta` (1 = 68.3 %).
MinosResult minos(const Model& model, std::span<const double> data,
                  const FitResult& best, std::size_t par, double delta = 1.0,
                  const FitOptions& base = {});

struct ImpactResult {
    std::vector<std::size_t> pars; // ranked parameters (all free ones but the POI)
    std::vector<double> prefit_up, prefit_down, postfit_up, postfit_down; // delta POI
    // the shifted value lay outside the parameter's bounds and was clipped to them
    std::vector<bool> prefit_up_clipped, prefit_down_clipped, postfit_up_clipped,
        postfit_down_clipped;
    std::vector<double> cov_prefit,
        cov_postfit; // covariance-based estimates (+1 sigma)
    FitResult best;
    int refits = 0; // fits run (shifts clipped onto the best fit need none)
    int failed_fits = 0;
    int clipped = 0; // shifts clipped to a bound
    bool valid = false;
};

// cabinetry's ranking: each parameter fixed at best +- pre-fit and +- post-fit sigma,
// refit, POI shift recorded; parameters spread over `jobs` threads. A shifted value
// beyond the parameter's bounds (a staterror gamma below 0) is clipped to the bound,
// as Combine's impacts do, and flagged; a shift clipped back onto the best fit has
// no impact.
ImpactResult impacts(const Model& model, std::span<const double> data,
                     const FitOptions& base = {}, int jobs = 1,
                     const FitResult* best = nullptr);

// Pre-fit widths of the constraint terms (Gaussian sigma, Poisson 1/sqrt(tau)); 0 for
// unconstrained and fixed parameters (cabinetry's prefit_uncertainties).
std::vector<double> prefit_uncertainties(const Model& model);

struct GoodnessOfFit {
    double twice_delta_nll = 0.0; // -2 ln(L_best / L_saturated)
    double ndof = 0.0;
    double p_value = 0.0;
};

// Saturated-model test as cabinetry computes it.
GoodnessOfFit goodness_of_fit(const Model& model, std::span<const double> data,
                              const FitResult& best,
                              const std::vector<bool>& fixed = {});

struct ToyResult {
    double q_obs = 0.0;
    std::vector<double> q_sb; // test statistic of signal+background toys
    std::vector<double> q_b;  // of background-only toys
    double cls_obs = 0.0, clsb_obs = 0.0, clb_obs = 0.0;
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

// Toy-based CLs (pyhf's ToyCalculator semantics).
ToyResult hypotest_toys(const Model& model, std::span<const double> data, double mu,
                        TestStat stat, int ntoys, unsigned long long seed = 0,
                        int jobs = 1, const FitOptions& base = {});

} // namespace hifit
