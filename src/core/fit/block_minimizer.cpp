// The fit on the block path: the dense minimizer's bounded trust-region Newton
// (minimizer.cpp: Levenberg-Marquardt damping, projection onto the box, active set
// of parameters pinned at a bound) with every Newton system solved through the Schur
// complement of the per-bin blocks (block_schur.hpp). Memory and time per iteration
// are linear in the number of per-bin parameters.
#include <hifit/errors.hpp>

#include "fit/block_hessian.hpp"
#include "fit/block_schur.hpp"
#include "fit/setup.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace hifit {

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

struct BlockProblem {
    BlockEvaluator& ev;
    Vec lo, hi;
    std::vector<bool> fixed;
    int evaluations = 0;
    double value(const Vec& x) {
        ++evaluations;
        return ev.value(x);
    }
    double full(const Vec& x, Vec& g, BlockHessian& h) {
        ++evaluations;
        return ev.evaluate(x, g, &h);
    }
};

enum class Role : char { free, fixed, at_bound, no_effect };

// As roles() in minimizer.cpp: fixed, pinned at a bound by an outward gradient,
// without influence (zero gradient and zero Hessian row on the free parameters).
std::vector<Role> roles(const BlockProblem& pb, const BlockLayout& lay, const Vec& x,
                        const Vec& g, const BlockHessian& h) {
    const std::size_t n = x.size(), ng = lay.g(), p = lay.p();
    std::vector<Role> out(n, Role::free);
    for (std::size_t i = 0; i < n; ++i) {
        if (pb.fixed[i])
            out[i] = Role::fixed;
        else if ((x[i] <= pb.lo[i] && g[i] > 0) || (x[i] >= pb.hi[i] && g[i] < 0))
            out[i] = Role::at_bound;
    }
    // nonzero Hessian entries with a free partner, per parameter
    std::vector<char> coupled(n, 0);
    auto mark = [&](std::size_t i, std::size_t j, double v) {
        if (v == 0.0) return;
        if (out[j] == Role::free) coupled[i] = 1;
        if (out[i] == Role::free) coupled[j] = 1;
    };
    for (std::size_t a = 0; a < ng; ++a)
        for (std::size_t b = 0; b < ng; ++b)
            mark(lay.globals[a], lay.globals[b], h.a[a * ng + b]);
    for (std::size_t j = 0; j < p; ++j)
        for (std::size_t a = 0; a < ng; ++a)
            mark(lay.globals[a], lay.locals[j], h.border[j * ng + a]);
    for (std::size_t blk = 0; blk + 1 < lay.block_offset.size(); ++blk) {
        const std::size_t off = lay.block_offset[blk];
        const std::size_t k = lay.block_offset[blk + 1] - off;
        for (std::size_t a = 0; a < k; ++a)
            for (std::size_t c = 0; c < k; ++c)
                mark(lay.locals[off + a], lay.locals[off + c],
                     h.d[h.d_offset[blk] + a * k + c]);
    }
    for (std::size_t i = 0; i < n; ++i)
        if (out[i] == Role::free && g[i] == 0.0 && !coupled[i])
            out[i] = Role::no_effect;
    return out;
}

std::vector<char> free_mask(const std::vector<Role>& role) {
    std::vector<char> out(role.size());
    for (std::size_t i = 0; i < role.size(); ++i) out[i] = role[i] == Role::free;
    return out;
}

// The one-sided width of a parameter pinned at a bound, as inward_width() in
// minimizer.cpp: the profile curvature is H_bb - c^T H_free^-1 c.
double inward_width(const BlockProblem& pb, const BlockLayout& lay,
                    const BlockHessian& h, const BlockSchur& free_inverse,
                    const std::vector<char>& free, std::size_t b, const Vec& x,
                    const Vec& g) {
    const std::size_t n = x.size();
    const double slope = std::max(0.0, x[b] <= pb.lo[b] ? g[b] : -g[b]);
    Vec cross(n, 0.0), unit(n, 0.0), solved(n, 0.0);
    unit[b] = 1.0;
    block_multiply(lay, h, unit, cross);
    for (std::size_t i = 0; i < n; ++i)
        if (!free[i]) cross[i] = 0.0;
    free_inverse.solve(cross, solved);
    const double curvature = h.at(lay, b, b) - dot(cross, solved);
    double room = pb.hi[b] - pb.lo[b];
    if (!std::isfinite(room)) room = slope > 0 ? 1.0 / slope : 0.0;
    const double disc = slope * slope + 2.0 * curvature;
    if (disc < 0 || slope + std::sqrt(disc) <= 0) return room;
    return std::min(room, 2.0 / (slope + std::sqrt(disc)));
}

// Covariance (-2 ln L with errordef 1: cov = 2 H^-1 on the free set), in full up to
// kBlockFullCovariance parameters, else on the global parameters only with the
// per-bin parameters' variances from the diagonal of H^-1.
void covariance(const BlockProblem& pb, const BlockLayout& lay, const Vec& x,
                const Vec& g, const BlockHessian& h, FitResult& res) {
    const std::size_t n = x.size(), ng = lay.g();
    const std::vector<Role> role = roles(pb, lay, x, g, h);
    const std::vector<char> free = free_mask(role);
    BlockSchur inv(lay);
    const Vec zero(n, 0.0);
    const bool positive = inv.factor(h, free, 0.0, zero);
    const bool full = n <= kBlockFullCovariance;
    std::vector<std::size_t> params;
    if (full) {
        for (std::size_t i = 0; i < n; ++i) params.push_back(i);
    } else {
        params.assign(lay.globals.begin(), lay.globals.end());
        res.covariance_params = params;
    }
    const std::size_t m = params.size();
    res.covariance.assign(m * m, 0.0);
    res.correlation.assign(m * m, 0.0);
    res.uncertainty.assign(n, 0.0);
    if (positive) {
        if (full) {
            Vec unit(n, 0.0), column(n, 0.0);
            for (std::size_t j = 0; j < n; ++j) {
                if (!free[j]) continue;
                unit[j] = 1.0;
                inv.solve(unit, column);
                unit[j] = 0.0;
                for (std::size_t i = 0; i < n; ++i)
                    if (free[i]) res.covariance[i * n + j] = 2.0 * column[i];
            }
        } else {
            const Eigen::MatrixXd ginv = inv.global_inverse();
            for (std::size_t a = 0; a < ng; ++a)
                for (std::size_t b = 0; b < ng; ++b)
                    res.covariance[a * ng + b] = 2.0 * ginv(a, b);
        }
        for (std::size_t i = 0; i < n; ++i)
            if (free[i])
                res.uncertainty[i] =
                    std::sqrt(std::max(0.0, 2.0 * inv.inverse_diagonal(i)));
    }
    std::vector<std::size_t> row_of(n, m);
    for (std::size_t a = 0; a < m; ++a) row_of[params[a]] = a;
    for (std::size_t a = 0; a < m; ++a) {
        for (std::size_t b = 0; b < m; ++b) {
            const double d = res.uncertainty[params[a]] * res.uncertainty[params[b]];
            if (free[params[a]] && free[params[b]] && d > 0)
                res.correlation[a * m + b] = res.covariance[a * m + b] / d;
        }
    }
    for (std::size_t b = 0; b < n; ++b) {
        if (role[b] != Role::at_bound) continue;
        const double w = positive ? inward_width(pb, lay, h, inv, free, b, x, g) : 0.0;
        res.uncertainty[b] = w;
        if (row_of[b] < m) {
            res.covariance[row_of[b] * m + row_of[b]] = w * w;
            res.correlation[row_of[b] * m + row_of[b]] = 1.0;
        }
    }
    if (!positive && res.status == FitStatus::converged)
        res.status = FitStatus::covariance_failed;
}

} // namespace

std::optional<FitResult> fit_block(Likelihood& likelihood, const FitOptions& given) {
    const auto start = std::chrono::steady_clock::now();
    const Model& model = likelihood.model();
    if (given.hessian == HessianPath::dense) return std::nullopt;
    std::unique_ptr<BlockEvaluator> ev = BlockEvaluator::make(
        model, given.hessian == HessianPath::block ? 1 : kBlockMinLocals);
    if (!ev) return std::nullopt;
    ev->set_data(likelihood.data());
    const BlockLayout& lay = ev->layout();
    const FitOptions options = resolved(model, given);
    const std::size_t n = model.npars();
    BlockProblem pb{*ev, Vec(n), Vec(n), options.fixed};
    Vec x(n);
    for (std::size_t i = 0; i < n; ++i) {
        pb.lo[i] = options.bounds[i].first;
        pb.hi[i] = options.bounds[i].second;
        if (pb.lo[i] > pb.hi[i])
            throw InvalidArgument("bounds of parameter \"" + model.par_names()[i] +
                                  "\" are inverted");
        x[i] = pb.fixed[i] ? options.init[i]
                           : std::clamp(options.init[i], pb.lo[i], pb.hi[i]);
    }

    FitResult res;
    Vec g(n), step(n), newton_step(n), p(n), trial(n), hs(n), scale(n), rhs(n);
    BlockHessian h;
    BlockSchur solver(lay);
    double f = pb.full(x, g, h);
    double lambda = 0.0;
    res.status = std::isfinite(f) ? FitStatus::max_iterations : FitStatus::non_finite;
    for (int it = 0;
         res.status == FitStatus::max_iterations && it < options.max_iterations; ++it) {
        res.iterations = it + 1;
        const std::vector<char> free = free_mask(roles(pb, lay, x, g, h));
        if (std::none_of(free.begin(), free.end(), [](char c) { return c; })) {
            res.edm = 0.0;
            res.status = FitStatus::converged;
            break;
        }
        for (std::size_t i = 0; i < n; ++i) {
            rhs[i] = free[i] ? -g[i] : 0.0;
            scale[i] = std::max(std::abs(h.at(lay, i, i)), 1e-8);
        }
        // EDM = g^T H^-1 g / 2 on the free set; infinite where H is not positive
        // definite.
        const bool convex = solver.factor(h, free, 0.0, scale);
        if (convex) solver.solve(rhs, newton_step);
        res.edm = convex ? 0.5 * dot(rhs, newton_step)
                         : std::numeric_limits<double>::infinity();
        if (res.edm < options.edm_tolerance) {
            res.status = FitStatus::converged;
            break;
        }
        // The pure Newton step first where H is positive definite, then
        // Levenberg-Marquardt damping growing tenfold per rejection (as the dense
        // minimizer).
        bool accepted = false;
        double damping = convex ? 0.0 : std::max(lambda, 1e-4);
        for (int attempt = 0; attempt < 40 && !accepted; ++attempt) {
            if (damping == 0.0) {
                p = newton_step;
            } else {
                if (!solver.factor(h, free, damping, scale)) {
                    damping *= 10.0;
                    continue;
                }
                solver.solve(rhs, p);
            }
            double step_norm = 0.0, x_norm = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                trial[i] = free[i] ? std::clamp(x[i] + p[i], pb.lo[i], pb.hi[i]) : x[i];
                step[i] = trial[i] - x[i];
                step_norm += step[i] * step[i];
                x_norm += x[i] * x[i];
            }
            block_multiply(lay, h, step, hs);
            const double predicted = -(dot(g, step) + 0.5 * dot(step, hs));
            if (!(predicted > 0)) {
                if (std::sqrt(step_norm) <= 1e-15 * (1.0 + std::sqrt(x_norm))) break;
                damping = damping == 0.0 ? std::max(lambda, 1e-4) : 10.0 * damping;
                continue;
            }
            const double f_trial = pb.value(trial);
            const double rho = (f - f_trial) / predicted;
            if (std::isfinite(f_trial) && f_trial <= f && rho > 1e-4) {
                x = trial;
                f = pb.full(x, g, h);
                lambda = rho > 0.75   ? damping / 4.0
                         : rho < 0.25 ? 2.0 * damping
                                      : damping;
                accepted = true;
            } else {
                damping = damping == 0.0 ? std::max(lambda, 1e-4) : 10.0 * damping;
            }
        }
        if (!accepted) {
            res.status = res.edm < 1e3 * options.edm_tolerance ? FitStatus::converged
                                                               : FitStatus::no_progress;
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        x[i] = pb.fixed[i] ? options.init[i] : std::clamp(x[i], pb.lo[i], pb.hi[i]);
    res.bestfit = x;
    res.twice_nll = f;
    const std::vector<Role> role = roles(pb, lay, x, g, h);
    res.at_bound.assign(n, false);
    res.no_effect.assign(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        res.at_bound[i] = role[i] == Role::at_bound;
        res.no_effect[i] = role[i] == Role::no_effect;
    }
    if (options.compute_covariance && res.status == FitStatus::converged) {
        covariance(pb, lay, x, g, h, res);
    } else {
        res.uncertainty.assign(n, 0.0);
        const std::size_t m = n <= kBlockFullCovariance ? n : lay.g();
        if (m != n)
            res.covariance_params.assign(lay.globals.begin(), lay.globals.end());
        res.covariance.assign(m * m, 0.0);
        res.correlation.assign(m * m, 0.0);
    }
    res.evaluations = pb.evaluations;
    res.valid = res.status == FitStatus::converged;
    res.message = to_string(res.status);
    res.wall_time =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return res;
}

} // namespace hifit
