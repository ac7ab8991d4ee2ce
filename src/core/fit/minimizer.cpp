// Bounded trust-region Newton (Levenberg-Marquardt damping of the exact Hessian,
// projected onto the box, active set for parameters pinned at a bound, a step along
// negative curvature to leave saddle points). On large HistFactory models the first
// steps use the Fisher information instead (Likelihood::has_fisher_hessian); the
// convergence test and the covariance always use the exact Hessian. A converged fit
// is a minimum: zero projected gradient and a positive definite Hessian on the free
// set.
#include <hifit/errors.hpp>
#include <hifit/fit/minimizer.hpp>

#include "enum_names.hpp"
#include "fit/block_hessian.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace hifit {

const char* to_string(FitStatus status) {
    static constexpr const char* names[] = {
        "converged", "maximum number of iterations reached",
        "no further decrease possible above the EDM goal",
        "objective is not finite at the starting point",
        "Hessian of the free parameters at the minimum is not positive definite"};
    return enum_name(status, names);
}

namespace {

using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Problem {
    Likelihood& lh;
    std::vector<double> lo, hi;
    std::vector<bool> fixed;
    int evaluations = 0;

    double value(const Vec& x) {
        ++evaluations;
        return lh.twice_nll({x.data(), static_cast<std::size_t>(x.size())});
    }
    double full(const Vec& x, Vec& g, RowMat& h) {
        ++evaluations;
        return lh.twice_nll_grad_hess({x.data(), static_cast<std::size_t>(x.size())},
                                      {g.data(), static_cast<std::size_t>(g.size())},
                                      {h.data(), static_cast<std::size_t>(h.size())});
    }
    // The value, gradient and the Fisher approximation of the Hessian.
    double fisher(const Vec& x, Vec& g, RowMat& h) {
        ++evaluations;
        return lh.twice_nll_grad_fisher({x.data(), static_cast<std::size_t>(x.size())},
                                        {g.data(), static_cast<std::size_t>(g.size())},
                                        {h.data(), static_cast<std::size_t>(h.size())});
    }
};

// The one linear solve of the minimizer: the step p with (H + damping diag(scale)) p
// = -g on the free set, false where that matrix is not positive definite.
bool newton_step(const Mat& hf, const Vec& gf, double damping, const Vec& scale, Vec& p,
                 Eigen::LLT<Mat>& llt) {
    if (damping == 0.0) {
        llt.compute(hf);
    } else {
        Mat damped = hf;
        damped.diagonal() += damping * scale;
        llt.compute(damped);
    }
    if (llt.info() != Eigen::Success) return false;
    p = -llt.solve(gf);
    return true;
}

bool newton_step(const Mat& hf, const Vec& gf, double damping, const Vec& scale,
                 Vec& p) {
    Eigen::LLT<Mat> llt;
    return newton_step(hf, gf, damping, scale, p, llt);
}

// The Cholesky factor of the last undamped Newton step's free-set Hessian: at a
// converged minimum it is the factor the covariance needs (same matrix, so the same
// factor bit for bit), and the covariance need not factorize again.
struct LastFactor {
    std::vector<int> idx;
    Mat hf;
    Eigen::LLT<Mat> llt;
    bool valid = false;
    bool matches(const std::vector<int>& other, const Mat& other_hf) const {
        return valid && idx == other && hf == other_hf;
    }
};

enum class Role { free, fixed, at_bound, no_effect };

// What each parameter does at x: fixed by the caller, pinned at a bound by a gradient
// pointing outward, without any influence on -2 ln L (zero gradient, zero Hessian row
// on the remaining parameters), or free.
std::vector<Role> roles(const Problem& pb, const Vec& x, const Vec& g,
                        const RowMat& h) {
    const int n = static_cast<int>(x.size());
    std::vector<Role> out(n, Role::free);
    for (int i = 0; i < n; ++i) {
        if (pb.fixed[i]) {
            out[i] = Role::fixed;
        } else if ((x[i] <= pb.lo[i] && g[i] > 0) || (x[i] >= pb.hi[i] && g[i] < 0)) {
            out[i] = Role::at_bound;
        }
    }
    for (int i = 0; i < n; ++i) {
        if (out[i] != Role::free || g[i] != 0.0) continue;
        bool flat = true;
        for (int j = 0; j < n && flat; ++j)
            flat = out[j] != Role::free || h(i, j) == 0.0;
        if (flat) out[i] = Role::no_effect;
    }
    return out;
}

std::vector<int> indices(const std::vector<Role>& role, Role wanted) {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(role.size()); ++i)
        if (role[i] == wanted) out.push_back(i);
    return out;
}

Mat sub_matrix(const RowMat& h, const std::vector<int>& idx) {
    const int n = static_cast<int>(idx.size());
    Mat out(n, n);
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) out(a, b) = h(idx[a], idx[b]);
    return out;
}

Vec sub_vector(const Vec& v, const std::vector<int>& idx) {
    Vec out(static_cast<int>(idx.size()));
    for (int a = 0; a < out.size(); ++a) out[a] = v[idx[a]];
    return out;
}

// One-sided width of a parameter pinned at a bound: the distance towards the inside
// where the profile -2 ln L, to second order (the gradient and the Hessian profiled
// over the free parameters, i.e. the Schur complement), rises by 1; the way to the
// other bound if it rises less.
double inward_width(const Problem& pb, int b, const Vec& x, const Vec& g,
                    const RowMat& h, const std::vector<int>& free, const Mat& h_inv) {
    const double slope = std::max(0.0, x[b] <= pb.lo[b] ? g[b] : -g[b]);
    Vec cross(static_cast<int>(free.size()));
    for (int a = 0; a < cross.size(); ++a) cross[a] = h(b, free[a]);
    const double curvature = h(b, b) - cross.dot(h_inv * cross);
    // the way to the other bound; with none, the linear rise (0 if there is none)
    double room = pb.hi[b] - pb.lo[b];
    if (!std::isfinite(room)) room = slope > 0 ? 1.0 / slope : 0.0;
    const double disc = slope * slope + 2.0 * curvature;
    if (disc < 0 || slope + std::sqrt(disc) <= 0) return room;
    return std::min(room, 2.0 / (slope + std::sqrt(disc)));
}

void covariance(const Problem& pb, const Vec& x, const Vec& g, const RowMat& h,
                const LastFactor& last, FitResult& res) {
    const int n = static_cast<int>(h.rows());
    const std::vector<Role> role = roles(pb, x, g, h);
    const std::vector<int> idx = indices(role, Role::free);
    res.covariance.assign(static_cast<std::size_t>(n) * n, 0.0);
    res.correlation.assign(static_cast<std::size_t>(n) * n, 0.0);
    res.uncertainty.assign(n, 0.0);
    const int m = static_cast<int>(idx.size());
    Mat inv = Mat::Zero(m, m);
    bool positive = true;
    if (m > 0) {
        // Cholesky (blocked, a third of LDLT's time) where the Hessian is positive
        // definite, as it is at a converged minimum; LDLT's inverse otherwise.
        const Mat hf = sub_matrix(h, idx);
        if (last.matches(idx, hf)) {
            inv = last.llt.solve(Mat::Identity(m, m));
        } else if (Eigen::LLT<Mat> llt(hf); llt.info() == Eigen::Success) {
            inv = llt.solve(Mat::Identity(m, m));
        } else {
            Eigen::LDLT<Mat> ldlt(hf);
            inv = ldlt.solve(Mat::Identity(m, m));
            positive = ldlt.info() == Eigen::Success && ldlt.isPositive();
        }
        for (int a = 0; a < m; ++a) positive = positive && inv(a, a) > 0;
    }
    // -2 ln L with errordef 1: cov = 2 H^-1.
    for (int a = 0; a < m; ++a) {
        for (int b = 0; b < m; ++b) {
            res.covariance[idx[a] * n + idx[b]] = 2.0 * inv(a, b);
        }
    }
    for (int a : idx)
        res.uncertainty[a] = std::sqrt(std::max(0.0, res.covariance[a * n + a]));
    for (int a : idx) {
        for (int b : idx) {
            const double d = res.uncertainty[a] * res.uncertainty[b];
            res.correlation[a * n + b] = d > 0 ? res.covariance[a * n + b] / d : 0.0;
        }
    }
    for (int b : indices(role, Role::at_bound)) {
        const double w = inward_width(pb, b, x, g, h, idx, inv);
        res.uncertainty[b] = w;
        res.covariance[b * n + b] = w * w;
        res.correlation[b * n + b] = 1.0;
    }
    if (!positive && res.status == FitStatus::converged) {
        res.status = FitStatus::covariance_failed;
    }
}

// Flags of the parameters at a bound or without effect at the final point.
void classify(const Problem& pb, const Vec& x, const Vec& g, const RowMat& h,
              FitResult& res) {
    const std::vector<Role> role = roles(pb, x, g, h);
    res.at_bound.assign(role.size(), false);
    res.no_effect.assign(role.size(), false);
    for (std::size_t i = 0; i < role.size(); ++i) {
        res.at_bound[i] = role[i] == Role::at_bound;
        res.no_effect[i] = role[i] == Role::no_effect;
    }
}

// Where the Hessian of the free set has a negative eigenvalue and damped Newton steps
// no longer lower -2 ln L (a saddle point or a ridge), a step along the eigenvector
// of the most negative curvature, downhill, with backtracking. Returns false if none
// lowers the objective.
bool negative_curvature_step(Problem& pb, const std::vector<int>& idx, const Mat& hf,
                             const Vec& gf, Vec& x, double& f) {
    Eigen::SelfAdjointEigenSolver<Mat> eig(hf);
    if (eig.info() != Eigen::Success || !(eig.eigenvalues()[0] < 0)) return false;
    Vec d = eig.eigenvectors().col(0);
    if (gf.dot(d) > 0) d = -d;
    // the step where the quadratic model along d changes by about one unit
    double t = std::max(1.0, std::sqrt(2.0 / -eig.eigenvalues()[0]));
    for (int attempt = 0; attempt < 40; ++attempt, t *= 0.5) {
        Vec trial = x;
        for (int a = 0; a < static_cast<int>(idx.size()); ++a) {
            const int i = idx[a];
            trial[i] = std::clamp(x[i] + t * d[a], pb.lo[i], pb.hi[i]);
        }
        const double f_trial = pb.value(trial);
        if (std::isfinite(f_trial) && f_trial < f) {
            x = trial;
            f = f_trial;
            return true;
        }
    }
    return false;
}

// Whether -2 ln L has a kink with a minimum at x along parameter i: a left slope
// below 0 and a right slope above 0 that differ by far more than curvature explains.
// Likelihoods have such kinks where a rate meets its floor (Combine's 1e-9 floor on a
// template bin or a per-process Barlow-Beeston term): there the minimum sits on the
// kink and Newton steps, blind to it, cannot settle.
bool at_kink(Problem& pb, Vec x, double f, int i) {
    const double h = 1e-7 * std::max(1.0, std::abs(x[i])), xi = x[i];
    if (xi - h < pb.lo[i] || xi + h > pb.hi[i]) return false;
    x[i] = xi + h;
    const double right = (pb.value(x) - f) / h;
    x[i] = xi - h;
    const double left = (f - pb.value(x)) / h;
    return left < 0.0 && right > 0.0 && right - left > 1e-3;
}

// The Fisher steps hand over to exact Newton steps once their EDM is below this.
constexpr double kExactNewtonEdm = 1e-2;

} // namespace

FitResult fit(Likelihood& likelihood, const FitOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    const Model& model = likelihood.model();
    const int n = static_cast<int>(model.npars());
    auto check_size = [&](std::size_t size, const char* what) {
        if (size != 0 && size != static_cast<std::size_t>(n)) {
            throw InvalidArgument(std::string(what) + " has " + std::to_string(size) +
                                  " entries, the model has " + std::to_string(n) +
                                  " parameters");
        }
    };
    check_size(options.init.size(), "init");
    check_size(options.bounds.size(), "bounds");
    check_size(options.fixed.size(), "fixed");
    // models with many per-bin parameters: Newton systems in blocks (block_hessian.hpp)
    if (auto block = fit_block(likelihood, options)) return std::move(*block);
    check_dense_memory(model, kFitSquareMatrices);
    const auto& init = options.init.empty() ? model.suggested_init() : options.init;
    const auto& bounds =
        options.bounds.empty() ? model.suggested_bounds() : options.bounds;
    Problem pb{likelihood,
               {},
               {},
               options.fixed.empty() ? model.suggested_fixed() : options.fixed};
    Vec x(n);
    for (int i = 0; i < n; ++i) {
        pb.lo.push_back(bounds[i].first);
        pb.hi.push_back(bounds[i].second);
        if (bounds[i].first > bounds[i].second) {
            throw InvalidArgument("bounds of parameter \"" + model.par_names()[i] +
                                  "\" are inverted");
        }
        // Fixed parameters stay where they are put, even outside their bounds.
        x[i] = pb.fixed[i] ? init[i] : std::clamp(init[i], pb.lo[i], pb.hi[i]);
    }

    FitResult res;
    Vec g(n);
    RowMat h(n, n);
    // Far from the minimum the exact Hessian is often indefinite (the second
    // derivatives of the rates, weighted by the residuals), and damped steps crawl:
    // steps on the Fisher information (positive semidefinite, and a third of the
    // cost) until they settle, then exact Newton steps, whose Hessian decides
    // convergence and gives the covariance.
    bool exact = !likelihood.has_fisher_hessian();
    double f = exact ? pb.full(x, g, h) : pb.fisher(x, g, h);
    auto to_exact = [&]() {
        exact = true;
        f = pb.full(x, g, h);
    };
    double lambda = 0.0;
    res.status = FitStatus::max_iterations;
    if (!std::isfinite(f)) {
        res.status = FitStatus::non_finite;
    }
    // Parameters held where a kink of -2 ln L has its minimum (see at_kink); the
    // others are minimized with them held, then the kinks are checked again.
    std::vector<bool> kink(n, false);
    LastFactor last;
    int kink_rounds = 0;
    auto release_kinks = [&]() { // true if a held parameter is no kink minimum now
        bool released = false;
        for (int i = 0; i < n; ++i) {
            if (kink[i] && !at_kink(pb, x, f, i)) kink[i] = false, released = true;
        }
        return released;
    };
    for (int it = 0;
         res.status == FitStatus::max_iterations && it < options.max_iterations; ++it) {
        res.iterations = it + 1;
        std::vector<int> idx = indices(roles(pb, x, g, h), Role::free);
        std::erase_if(idx, [&](int i) { return kink[i]; });
        if (idx.empty()) {
            if (!exact) {
                to_exact();
                continue;
            }
            res.edm = 0.0;
            res.status = FitStatus::converged;
            break;
        }
        const Mat hf = sub_matrix(h, idx);
        const Vec gf = sub_vector(g, idx);
        // EDM = g^T H^-1 g / 2 on the free set; infinite where H is not positive
        // definite.
        const Vec scale = hf.diagonal().cwiseAbs().cwiseMax(1e-8);
        Vec newton;
        const bool convex = newton_step(hf, gf, 0.0, scale, newton, last.llt);
        last.valid = convex && exact;
        if (last.valid) {
            last.idx = idx;
            last.hf = hf;
        }
        res.edm =
            convex ? -0.5 * gf.dot(newton) : std::numeric_limits<double>::infinity();
        if (!exact && res.edm < kExactNewtonEdm) {
            to_exact();
            continue;
        }
        if (res.edm < options.edm_tolerance) {
            if (kink_rounds < 10 && release_kinks()) {
                ++kink_rounds;
                continue;
            }
            res.status = FitStatus::converged;
            break;
        }
        // Steps until one lowers the objective: the pure Newton step first whenever the
        // Hessian is positive definite (the damping of earlier iterations is not
        // carried over to a region where Newton works), then Levenberg-Marquardt
        // damping that grows tenfold per rejection.
        bool accepted = false;
        double damping = convex ? 0.0 : std::max(lambda, 1e-4);
        for (int attempt = 0; attempt < 40 && !accepted; ++attempt) {
            Vec p;
            if (damping == 0.0) {
                p = newton;
            } else if (!newton_step(hf, gf, damping, scale, p)) {
                damping *= 10.0;
                continue;
            }
            Vec trial = x;
            for (int a = 0; a < static_cast<int>(idx.size()); ++a) {
                const int i = idx[a];
                trial[i] = std::clamp(x[i] + p[a], pb.lo[i], pb.hi[i]);
            }
            const Vec step = trial - x;
            const double predicted = -(g.dot(step) + 0.5 * step.dot(h * step));
            if (!(predicted > 0)) {
                if (step.norm() <= 1e-15 * (1.0 + x.norm())) break;
                damping = damping == 0.0 ? std::max(lambda, 1e-4) : 10.0 * damping;
                continue;
            }
            const double f_trial = pb.value(trial);
            const double rho = (f - f_trial) / predicted;
            if (std::isfinite(f_trial) && f_trial <= f && rho > 1e-4) {
                x = trial;
                f = exact ? pb.full(x, g, h) : pb.fisher(x, g, h);
                // remembered for the next region where the Hessian is not positive
                lambda = rho > 0.75   ? damping / 4.0
                         : rho < 0.25 ? 2.0 * damping
                                      : damping;
                accepted = true;
            } else {
                damping = damping == 0.0 ? std::max(lambda, 1e-4) : 10.0 * damping;
            }
        }
        if (!accepted && !exact) { // the approximation is exhausted
            to_exact();
            continue;
        }
        if (!accepted && !convex && negative_curvature_step(pb, idx, hf, gf, x, f)) {
            f = pb.full(x, g, h);
            accepted = true;
        }
        if (!accepted && kink_rounds < 10 && res.edm >= 1e3 * options.edm_tolerance) {
            bool pinned = false;
            for (int i : idx) {
                if (at_kink(pb, x, f, i)) kink[i] = true, pinned = true;
            }
            if (pinned) {
                ++kink_rounds;
                continue;
            }
        }
        if (!accepted) {
            // Nothing lowers f any more: converged to rounding if the EDM is tiny (only
            // ever where the Hessian of the free set is positive definite, as the EDM
            // is infinite elsewhere: a saddle point is never a minimum).
            res.status = res.edm < 1e3 * options.edm_tolerance ? FitStatus::converged
                                                               : FitStatus::no_progress;
        }
    }
    // Parameters the likelihood profiles in closed form (Combine's Barlow-Beeston-lite
    // terms on empty bins) do not act on -2 ln L, so the steps above left them at
    // their start: report their minimising values, as Combine's analytic
    // minimisation leaves them (the value, gradient and Hessian do not change).
    likelihood.set_profiled_parameters({x.data(), static_cast<std::size_t>(n)});
    for (int i = 0; i < n; ++i) {
        x[i] = pb.fixed[i] ? init[i] : std::clamp(x[i], pb.lo[i], pb.hi[i]);
    }
    res.bestfit.assign(x.data(), x.data() + n);
    res.twice_nll = f;
    res.evaluations = pb.evaluations;
    classify(pb, x, g, h, res);
    if (options.compute_covariance && res.status == FitStatus::converged) {
        covariance(pb, x, g, h, last, res);
    } else {
        res.uncertainty.assign(n, 0.0);
        res.covariance.assign(static_cast<std::size_t>(n) * n, 0.0);
        res.correlation.assign(static_cast<std::size_t>(n) * n, 0.0);
    }
    res.valid = res.status == FitStatus::converged;
    res.message = to_string(res.status);
    res.wall_time =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return res;
}

FitResult fit(const Model& model, std::span<const double> data,
              const FitOptions& options) {
    Likelihood likelihood(model, data);
    return fit(likelihood, options);
}

} // namespace hifit
