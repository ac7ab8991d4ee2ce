// The per-toy work of the toy calculators, fast: toys drawn from what depends only on
// the generating point (computed once), and test statistics whose fits start at the
// generating point and take Fisher-information, then exact Newton steps, with the full
// fits of test_statistic as the fallback. Private to the core.
#pragma once

#include <hifit/infer/test_statistics.hpp>

#include <Eigen/Dense>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace hifit {

struct ModelData;

// splitmix64: decorrelated seeds for (seed, toy index) pairs.
inline std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// The generator of toy `index` of `seed`.
inline std::mt19937_64 toy_rng(unsigned long long seed, unsigned long long index) {
    return std::mt19937_64(splitmix64(splitmix64(seed) ^ index));
}

// Toys around one generating point, each identical to sample_toy's: the expected
// rates and the Poisson distributions' set-up are computed once, not per toy.
class ToySampler {
  public:
    ToySampler(const Model& model, std::span<const double> pars);
    // Toy (seed, index) into `out` (main ++ auxiliary data); no allocation.
    void sample(unsigned long long seed, unsigned long long index,
                std::span<double> out);
    std::size_t size() const { return main_.size() + naux_; }

  private:
    const ModelData* md_;
    std::vector<double> pars_;
    std::size_t naux_;
    std::vector<std::poisson_distribution<long long>> main_, aux_; // mean > 0 only
    std::vector<char> main_zero_, aux_zero_;
};

// What one toy's test statistic cost: fits by Newton steps alone, fits that needed
// the minimizer, toys that needed test_statistic's full fits, fixed fits skipped.
struct ToyFitCounts {
    long long newton_fits = 0, minimizer_fits = 0, reference_toys = 0, skipped = 0;
    // toys marked failed without the reference fits: -2 ln L fell below the saturated
    // model's (a negative expected rate in a bin without events)
    long long unbounded_toys = 0;
    // with exact Hessian; with Fisher information; gradient only; value only
    long long evaluations = 0, fishers = 0, gradients = 0, values = 0;
};

// The test statistic of toys of one model at one tested POI value. Its value agrees
// with test_statistic's (full fits from the default start) to the fits' tolerance
// where both reach the same minima (on 1Lbb, 199 of 200 toys within 1e-9; in the
// other the reference's unconditional fit stopped in a local minimum 0.005 higher):
// the unconditional fit starts at the generating point, the conditional one at the
// unconditional solution; both take steps on the Fisher information (positive
// definite where the exact Hessian often is not), then Newton steps with the exact
// Hessian, projected on the box, while every step lowers -2 ln L, and fall back to
// the minimizer from where they got otherwise. A fixed-POI fit that q does not need
// (q_mu, q~_mu with mu-hat > mu; q0 with mu-hat < 0) is skipped. A toy whose -2 ln L
// falls below its saturated value (an expected rate below zero in a bin without
// events: no physical minimum) fails at once; one whose fits do not converge
// otherwise, or whose conditional minimum lies below the unconditional one, gets
// test_statistic. One per thread; no allocation per toy on the Newton path.
class ToyTestStatistic {
  public:
    // Toys generated at `generator`. `options` resolved (init, bounds and fixed
    // filled in). The full fits of the fallback start from options.init, or from
    // `generator` if `warm_reference` (as the caller's reference path does).
    ToyTestStatistic(const Model& model, const FitOptions& options, double mu,
                     TestStat stat, std::span<const double> generator,
                     bool warm_reference = false);
    // q of `toy` (main ++ auxiliary data); false in `valid` if a fit q relies on
    // failed.
    double evaluate(std::span<const double> toy, bool& valid);
    const ToyFitCounts& counts() const { return counts_; }

  private:
    using Vec = Eigen::VectorXd;
    using Mat = Eigen::MatrixXd;
    using RowMat =
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    // Minimizes -2 ln L (into f) from x_ with options.fixed: steps with the fixed
    // factorization `chord` of a nearby Hessian on `set` (gradients only), then
    // Newton steps, else the minimizer from where they got (options.init is
    // scratch); false if it did not converge.
    bool minimize(FitOptions& options, const Eigen::LLT<Mat>& chord,
                  const std::vector<int>& set, double& f);
    void chord_steps(const Eigen::LLT<Mat>& chord, const std::vector<int>& set,
                     double& f);
    bool fisher_steps(const std::vector<bool>& fixed, double& f);
    bool newton(const std::vector<bool>& fixed, double& f);
    void free_set(const std::vector<bool>& fixed);
    double full(const Vec& x, Vec& g, RowMat& h);
    double fisher(const Vec& x, Vec& g, RowMat& h);
    double gradient(const Vec& x, Vec& g);
    double value(const Vec& x);
    // the Cholesky factor of h_ on `set` into `llt`; false if not positive definite
    bool factor(const std::vector<int>& set, Eigen::LLT<Mat>& llt);

    const Model& model_;
    FitOptions options_, fixed_options_; // init: scratch of the fallback fits
    std::vector<double> base_init_, generator_;
    std::size_t poi_;
    double mu_;
    TestStat stat_;
    bool warm_reference_;
    Likelihood lh_;
    std::vector<double> lo_, hi_;
    ToyFitCounts counts_;
    // the Hessian of the Asimov data of the generator, there, on the non-fixed
    // parameters (free fits) and on those without the POI (conditional fits)
    std::vector<int> set_free_, set_fixed_, free_;
    Eigen::LLT<Mat> llt_free_, llt_fixed_, llt_, llt_profile_;
    // buffers, sized once
    Vec x_, trial_, g_, g_trial_, gf_, p_, cross_;
    RowMat h_, h_trial_;
    Mat hf_;
    bool fresh_hessian_ = false; // h_ is the Hessian at x_
    double saturated_ = 0.0;     // -2 ln L of the saturated model of the toy
    bool unbounded_ = false;     // a fit of the toy fell below it
};

} // namespace hifit
