// The per-toy work of the toy calculators: sampling and test statistics (see
// toy_fits.hpp).
#include "infer/toy_fits.hpp"

#include "fit/setup.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace hifit {

namespace {

// Newton steps per fit before the minimizer takes over. Near the minimum a few
// suffice; where the Hessian is not positive definite (most free fits of 1Lbb toys
// start so) or a step does not lower -2 ln L, the minimizer's damped steps take over.
constexpr int kNewtonSteps = 12;
// Steps with a fixed Hessian (gradients only) before them, until the decrease they
// predict is below kChordGoal.
constexpr int kChordSteps = 8;
constexpr double kChordGoal = 1e-6;
// Steps on the Fisher information (positive semidefinite where the exact Hessian is
// not, and a third of its cost) before the exact Newton steps, until the EDM they
// predict is below kFisherHandover; halvings of a step that does not lower -2 ln L.
constexpr int kFisherSteps = 30;
constexpr double kFisherHandover = 1e-2;
constexpr int kFisherHalvings = 6;
// -2 ln L this far below the saturated model's: an expected rate went negative in a
// bin without events, where -2 ln L = 2 nu + ... decreases without bound (up to the
// box); the toy's fits cannot converge to a physical minimum and it is marked failed
// at once instead of retried (see ToyTestStatistic).
constexpr double kBelowSaturated = 1e-3;
// Iterations of the minimizer after them: a toy whose fit needs more is left to the
// reference fits, which retry with the full budget from other starts anyway.
constexpr int kMinimizerIterations = 100;
constexpr int kMinimizerFirstRound = 20;

// A conditional minimum this far below the unconditional one means the unconditional
// fit found a local minimum: the toy gets the full fits.
constexpr double kMinimumOrder = 1e-6;

std::poisson_distribution<long long> poisson_of(double mean) {
    return std::poisson_distribution<long long>(mean > 0 ? mean : 1.0);
}

} // namespace

ToySampler::ToySampler(const Model& model, std::span<const double> pars)
    : md_(&model.compiled()), pars_(pars.begin(), pars.end()), naux_(model.naux()) {
    std::vector<double> expected(model.nmain());
    Likelihood lh(model, std::vector<double>(model.nmain() + naux_, 0.0));
    lh.expected_data(pars_, expected, false);
    for (double mean : expected) {
        main_.push_back(poisson_of(mean));
        main_zero_.push_back(!(mean > 0));
    }
    for (const PoissonTerm& t : md_->poisson) {
        const double mean = pars_[t.par] * t.factor;
        aux_.push_back(poisson_of(mean));
        aux_zero_.push_back(!(mean > 0));
    }
}

void ToySampler::sample(unsigned long long seed, unsigned long long index,
                        std::span<double> out) {
    // The draws of sample_toy in its order; a distribution reset before each draw is
    // a freshly constructed one (no normal deviate cached from the previous toy).
    std::mt19937_64 rng = toy_rng(seed, index);
    std::fill(out.begin(), out.end(), 0.0);
    for (std::size_t b = 0; b < main_.size(); ++b) {
        if (main_zero_[b]) continue;
        main_[b].reset();
        out[b] = static_cast<double>(main_[b](rng));
    }
    double* aux = out.data() + main_.size();
    for (const GaussianTerm& t : md_->gaussian)
        aux[t.aux] = std::normal_distribution<double>(pars_[t.par], t.sigma)(rng);
    for (std::size_t k = 0; k < aux_.size(); ++k) {
        if (aux_zero_[k]) continue;
        aux_[k].reset();
        aux[md_->poisson[k].aux] = static_cast<double>(aux_[k](rng));
    }
}

ToyTestStatistic::ToyTestStatistic(const Model& model, const FitOptions& options,
                                   double mu, TestStat stat,
                                   std::span<const double> generator,
                                   bool warm_reference)
    : model_(model), options_(options), generator_(generator.begin(), generator.end()),
      poi_(*model.poi_index()), mu_(stat == TestStat::q0 ? 0.0 : mu), stat_(stat),
      warm_reference_(warm_reference),
      lh_(model, std::vector<double>(model.nmain() + model.naux(), 0.0)) {
    options_.compute_covariance = false;
    base_init_ = options_.init;
    fixed_options_ = fixed_at(options_, poi_, mu_, {});
    const auto n = static_cast<Eigen::Index>(model.npars());
    for (const auto& [lo, hi] : options_.bounds) lo_.push_back(lo), hi_.push_back(hi);
    x_.resize(n), trial_.resize(n), g_.resize(n), g_trial_.resize(n);
    h_.resize(n, n), h_trial_.resize(n, n);
    free_.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < static_cast<int>(n); ++i) {
        if (options_.fixed[i]) continue;
        set_free_.push_back(i);
        if (i != static_cast<int>(poi_)) set_fixed_.push_back(i);
    }
    // The Hessian of the generator's Asimov data at the generator: the mean of the
    // toys' Hessians there, the first steps' metric.
    std::vector<double> asimov(model.nmain() + model.naux());
    lh_.expected_data(generator_, asimov);
    lh_.set_data(asimov);
    for (Eigen::Index i = 0; i < n; ++i) x_[i] = generator_[i];
    full(x_, g_, h_);
    if (!factor(set_free_, llt_free_)) set_free_.clear();
    if (!factor(set_fixed_, llt_fixed_)) set_fixed_.clear();
    counts_ = {};
}

double ToyTestStatistic::full(const Vec& x, Vec& g, RowMat& h) {
    ++counts_.evaluations;
    const auto n = static_cast<std::size_t>(x.size());
    return lh_.twice_nll_grad_hess({x.data(), n}, {g.data(), n}, {h.data(), n * n});
}

double ToyTestStatistic::fisher(const Vec& x, Vec& g, RowMat& h) {
    ++counts_.fishers;
    const auto n = static_cast<std::size_t>(x.size());
    return lh_.twice_nll_grad_fisher({x.data(), n}, {g.data(), n}, {h.data(), n * n});
}

double ToyTestStatistic::value(const Vec& x) {
    ++counts_.values;
    return lh_.twice_nll({x.data(), static_cast<std::size_t>(x.size())});
}

double ToyTestStatistic::gradient(const Vec& x, Vec& g) {
    ++counts_.gradients;
    const auto n = static_cast<std::size_t>(x.size());
    return lh_.twice_nll_grad({x.data(), n}, {g.data(), n});
}

bool ToyTestStatistic::factor(const std::vector<int>& set, Eigen::LLT<Mat>& llt) {
    const auto m = static_cast<Eigen::Index>(set.size());
    hf_.resize(m, m);
    for (Eigen::Index a = 0; a < m; ++a)
        for (Eigen::Index b = 0; b < m; ++b) hf_(a, b) = h_(set[a], set[b]);
    llt.compute(hf_);
    return llt.info() == Eigen::Success;
}

// Steps x <- x - K^-1 g on `set`, clamped to the box, with K the fixed factor
// `chord`: gradients only, while they lower -2 ln L and until the decrease K
// predicts is small; the Newton steps finish from there.
void ToyTestStatistic::chord_steps(const Eigen::LLT<Mat>& chord,
                                   const std::vector<int>& set, double& f) {
    if (set.empty()) return;
    const auto m = static_cast<Eigen::Index>(set.size());
    gf_.resize(m), p_.resize(m);
    f = gradient(x_, g_);
    for (int step = 0; step < kChordSteps && std::isfinite(f); ++step) {
        for (Eigen::Index a = 0; a < m; ++a) gf_[a] = g_[set[a]];
        p_.noalias() = chord.solve(gf_);
        if (0.5 * gf_.dot(p_) < kChordGoal) return;
        trial_ = x_;
        for (Eigen::Index a = 0; a < m; ++a) {
            const int i = set[a];
            trial_[i] = std::clamp(x_[i] - p_[a], lo_[i], hi_[i]);
        }
        const double f_trial = gradient(trial_, g_trial_);
        if (!(f_trial <= f)) return;
        std::swap(x_, trial_), std::swap(g_, g_trial_);
        f = f_trial;
    }
}

// The free set at x_ (neither fixed nor pinned at a bound by an outward gradient).
void ToyTestStatistic::free_set(const std::vector<bool>& fixed) {
    free_.clear();
    for (int i = 0; i < static_cast<int>(x_.size()); ++i) {
        const bool pinned =
            (x_[i] <= lo_[i] && g_[i] > 0) || (x_[i] >= hi_[i] && g_[i] < 0);
        if (!fixed[i] && !pinned) free_.push_back(i);
    }
}

// Steps x <- x - F^-1 g on the free set with F the Fisher information at x (which is
// positive semidefinite where the exact Hessian often is not: far from the minimum,
// or on toys with small counts), clamped to the box and halved until they lower
// -2 ln L; until the EDM F predicts is below kFisherHandover. False if -2 ln L fell
// below the saturated model's (unbounded, see kBelowSaturated).
bool ToyTestStatistic::fisher_steps(const std::vector<bool>& fixed, double& f) {
    if (!lh_.has_fisher_hessian()) return true;
    for (int step = 0; step < kFisherSteps; ++step) {
        f = fisher(x_, g_, h_);
        if (!std::isfinite(f)) return true;
        if (f < saturated_ - kBelowSaturated) return false;
        free_set(fixed);
        const auto m = static_cast<Eigen::Index>(free_.size());
        if (m == 0 || !factor(free_, llt_)) return true;
        gf_.resize(m), p_.resize(m);
        for (Eigen::Index a = 0; a < m; ++a) gf_[a] = g_[free_[a]];
        p_.noalias() = llt_.solve(gf_);
        if (0.5 * gf_.dot(p_) < kFisherHandover) return true;
        bool accepted = false;
        for (int half = 0; half < kFisherHalvings && !accepted; ++half, p_ *= 0.5) {
            trial_ = x_;
            for (Eigen::Index a = 0; a < m; ++a) {
                const int i = free_[a];
                trial_[i] = std::clamp(x_[i] - p_[a], lo_[i], hi_[i]);
            }
            accepted = value(trial_) <= f;
        }
        if (!accepted) return true;
        std::swap(x_, trial_);
    }
    return true;
}

// Newton steps from x_ on the box: the free set is that of the minimizer (neither
// fixed nor pinned at a bound by an outward gradient), the step the full Newton step
// clamped to the box, accepted while it lowers -2 ln L; done at the minimizer's
// convergence test (EDM on the free set below its tolerance). Leaves h_ at x_.
bool ToyTestStatistic::newton(const std::vector<bool>& fixed, double& f) {
    f = full(x_, g_, h_);
    if (!std::isfinite(f)) return false;
    for (int step = 0; step < kNewtonSteps; ++step) {
        free_set(fixed);
        const auto m = static_cast<Eigen::Index>(free_.size());
        if (m == 0) return true;
        if (!factor(free_, llt_)) return false;
        gf_.resize(m), p_.resize(m);
        for (Eigen::Index a = 0; a < m; ++a) gf_[a] = g_[free_[a]];
        p_.noalias() = llt_.solve(gf_);
        if (0.5 * gf_.dot(p_) < options_.edm_tolerance) return true;
        trial_ = x_;
        for (Eigen::Index a = 0; a < m; ++a) {
            const int i = free_[a];
            trial_[i] = std::clamp(x_[i] - p_[a], lo_[i], hi_[i]);
        }
        const double f_trial = full(trial_, g_trial_, h_trial_);
        if (!(f_trial <= f)) return false;
        std::swap(x_, trial_), std::swap(g_, g_trial_), std::swap(h_, h_trial_);
        f = f_trial;
    }
    return false;
}

bool ToyTestStatistic::minimize(FitOptions& options, const Eigen::LLT<Mat>& chord,
                                const std::vector<int>& set, double& f) {
    chord_steps(chord, set, f);
    if (!fisher_steps(options.fixed, f)) {
        unbounded_ = true;
        return false;
    }
    if (newton(options.fixed, f)) {
        ++counts_.newton_fits;
        // a minimum below the saturated value has a negative rate: no physical one
        unbounded_ = f < saturated_ - kBelowSaturated;
        return !unbounded_;
    }
    ++counts_.minimizer_fits;
    // the minimizer from the lowest point the steps reached, in two rounds: one that
    // far off fell below the saturated value within the first (unbounded) stops there
    const int budget = options.max_iterations;
    bool valid = false;
    for (int round :
         {kMinimizerFirstRound, kMinimizerIterations - kMinimizerFirstRound}) {
        for (std::size_t i = 0; i < options.init.size(); ++i) options.init[i] = x_[i];
        options.max_iterations = std::min(budget, round);
        const FitResult r = fit(lh_, options);
        for (std::size_t i = 0; i < r.bestfit.size(); ++i) x_[i] = r.bestfit[i];
        f = r.twice_nll;
        valid = r.valid;
        if (f < saturated_ - kBelowSaturated) unbounded_ = true;
        if (valid || unbounded_ || r.status != FitStatus::max_iterations) break;
    }
    options.max_iterations = budget;
    fresh_hessian_ = false;
    return valid && !unbounded_;
}

double ToyTestStatistic::evaluate(std::span<const double> toy, bool& valid) {
    lh_.set_data(toy);
    saturated_ = lh_.twice_nll_saturated();
    unbounded_ = false;
    // the unconditional fit from the generator (its fixed parameters at their values)
    for (Eigen::Index i = 0; i < x_.size(); ++i) {
        x_[i] = options_.fixed[i] ? base_init_[i]
                                  : std::clamp(generator_[i], lo_[i], hi_[i]);
    }
    fresh_hessian_ = true;
    double f_free = 0.0;
    bool ok = minimize(options_, llt_free_, set_free_, f_free);
    const double muhat = x_[poi_];
    if (ok && !needs_fixed_fit(stat_, mu_, muhat)) {
        ++counts_.skipped;
        valid = true;
        return 0.0;
    }
    // The conditional fit from the unconditional solution moved along its valley: the
    // other parameters shifted by the POI's step times their regression on it, from
    // the Hessian there; its factor is the first steps' metric.
    const Eigen::LLT<Mat>* chord = &llt_fixed_;
    const std::vector<int>* set = &set_fixed_;
    if (ok) {
        if (!fresh_hessian_) full(x_, g_, h_);
        if (factor(set_fixed_, llt_profile_)) {
            const auto m = static_cast<Eigen::Index>(set_fixed_.size());
            cross_.resize(m);
            for (Eigen::Index a = 0; a < m; ++a)
                cross_[a] = h_(set_fixed_[a], static_cast<Eigen::Index>(poi_));
            p_.resize(m);
            p_.noalias() = llt_profile_.solve(cross_);
            for (Eigen::Index a = 0; a < m; ++a) {
                const int i = set_fixed_[a];
                x_[i] = std::clamp(x_[i] - p_[a] * (mu_ - muhat), lo_[i], hi_[i]);
            }
            chord = &llt_profile_;
        }
    }
    x_[poi_] = mu_;
    double f_fixed = 0.0;
    ok = ok && minimize(fixed_options_, *chord, *set, f_fixed);
    if (ok && f_fixed >= f_free - kMinimumOrder) {
        valid = true;
        return statistic_value(stat_, mu_, muhat, f_fixed, f_free);
    }
    // -2 ln L fell below the saturated value: an expected rate below zero in a bin
    // without events. No physical minimum was found, and the reference's fits would
    // retry for long (8x iterations), then fail, or stop at the box with a negative
    // rate (-2 ln L far below the saturated value; 2 in 100 1Lbb toys), where q means
    // nothing: the toy fails.
    if (unbounded_) {
        ++counts_.unbounded_toys;
        valid = false;
        return 0.0;
    }
    ++counts_.reference_toys;
    FitOptions reference = options_;
    reference.init = base_init_;
    if (warm_reference_) reference = warm(reference, generator_);
    const TestStatResult r = test_statistic(model_, toy, mu_, stat_, reference);
    valid = r.valid();
    return r.value;
}

} // namespace hifit
