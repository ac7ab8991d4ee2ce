// Profile-likelihood scans (1D, 2D) and MINOS intervals.
#include <hifit/errors.hpp>
#include <hifit/infer/impacts.hpp>
#include <hifit/infer/limits.hpp>
#include <hifit/infer/scans.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include "fit/setup.hpp"
#include "infer/messages.hpp"
#include "infer/parallel.hpp"

#include <cmath>

namespace hifit {

namespace {

void check_par(const Model& model, std::size_t par) {
    if (par >= model.npars()) {
        throw InvalidArgument("parameter index " + std::to_string(par) +
                              " out of range (" + std::to_string(model.npars()) +
                              " parameters)");
    }
}

// Second sweep over the points [begin, end) of a chunk, backwards: each point refitted
// from the solution of the next one, which the first sweep had not found yet, the
// lower valid minimum kept. `at(i, start)` are the options of point i.
template <class At>
void sweep_back(Likelihood& lh, std::vector<FitResult>& fits, std::size_t begin,
                At at) {
    for (std::size_t k = fits.size(); k-- > 1;) {
        if (!fits[k].valid) continue;
        FitResult r = fit(lh, at(begin + k - 1, fits[k].bestfit));
        if (better(r, fits[k - 1])) fits[k - 1] = std::move(r);
    }
}

// A scan point is at least as low as the fits from the unconditional solution, from
// both its neighbours along the grid and from pyhf's start; the first point of a
// chunk far from the best fit is also reached by continuation from it.
void scan_chunk(const Model& model, std::span<const double> data,
                const FitOptions& options, const FitResult& best, std::size_t par,
                std::span<const double> values, std::size_t begin, std::size_t end,
                std::vector<FitResult>& fits) {
    Likelihood lh(model, data);
    Solutions known;
    known[best.bestfit[par]] = best.bestfit;
    const double step = continuation_step(options, par, &best);
    std::vector<FitResult> chunk;
    for (std::size_t i = begin; i < end; ++i) {
        chunk.push_back(
            conditional_fit(lh, options, par, values[i], best.bestfit, known, step));
    }
    sweep_back(lh, chunk, begin, [&](std::size_t i, const std::vector<double>& start) {
        return fixed_at(options, par, values[i], start);
    });
    std::move(chunk.begin(), chunk.end(), fits.begin() + begin);
}

// The same along a path through a 2D grid (`at(k, start)` fixes both parameters of
// the k-th point): starts from the previous point, the unconditional solution and
// pyhf's, then the backward sweep.
template <class At>
void path_chunk(const Model& model, std::span<const double> data, const FitResult& best,
                std::size_t begin, std::size_t end, std::vector<FitResult>& fits,
                At at) {
    Likelihood lh(model, data);
    std::vector<std::vector<double>> previous;
    for (std::size_t k = begin; k < end; ++k) {
        FitResult r = robust_fit(lh, at(k, best.bestfit), previous);
        if (r.valid) previous = {r.bestfit};
        fits[k] = std::move(r);
    }
    std::vector<FitResult> chunk(std::make_move_iterator(fits.begin() + begin),
                                 std::make_move_iterator(fits.begin() + end));
    sweep_back(lh, chunk, begin, at);
    std::move(chunk.begin(), chunk.end(), fits.begin() + begin);
}

// The fits (fits[k] at grid point index(k)) into the result. A point below the
// unconditional minimum means the unconditional fit stopped in a local minimum: it is
// refitted from that point's solution (the scanned parameters released) and replaced
// if lower.
template <class Index>
void finish(const Model& model, std::span<const double> data, const FitOptions& options,
            const std::vector<FitResult>& fits, Index index, ScanResult& out) {
    const FitResult* lowest = nullptr;
    for (std::size_t k = 0; k < fits.size(); ++k) {
        out.twice_nll[index(k)] = fits[k].twice_nll;
        out.valid[index(k)] = fits[k].valid;
        if (fits[k].valid && (!lowest || fits[k].twice_nll < lowest->twice_nll))
            lowest = &fits[k];
    }
    if (lowest && lowest->twice_nll < out.best.twice_nll - 1e-6) {
        Likelihood lh(model, data);
        FitResult r =
            robust_fit(lh, warm(options, lowest->bestfit), {out.best.bestfit});
        if (r.valid && r.twice_nll < out.best.twice_nll) out.best = std::move(r);
    }
    out.delta_twice_nll.resize(out.twice_nll.size());
    for (std::size_t i = 0; i < out.twice_nll.size(); ++i) {
        out.delta_twice_nll[i] = out.twice_nll[i] - out.best.twice_nll;
    }
}

} // namespace

namespace {

void check_scan(const Model& model, const ScanGrid& grid) {
    if (grid.pars.size() != 1 && grid.pars.size() != 2)
        throw InvalidArgument("scans take one or two parameters");
    for (std::size_t p : grid.pars) check_par(model, p);
    if (grid.pars.size() == 2 && grid.pars[0] == grid.pars[1])
        throw InvalidArgument("a 2D scan needs two different parameters");
}

} // namespace

std::size_t scan_points(const ScanGrid& grid) {
    return grid.pars.size() == 1 ? grid.values_x.size()
                                 : grid.values_x.size() * grid.values_y.size();
}

std::size_t scan_grid_index(const ScanGrid& grid, std::size_t k) {
    if (grid.pars.size() == 1) return k;
    // Serpentine order: consecutive points are neighbours on the grid.
    const std::size_t ny = grid.values_y.size();
    const std::size_t row = k / ny, col = k % ny;
    return row * ny + (row % 2 == 0 ? col : ny - 1 - col);
}

FitResult scan_best(const Model& model, std::span<const double> data,
                    const ScanGrid& grid, const FitOptions& base) {
    check_scan(model, grid);
    Likelihood lh(model, data);
    return robust_fit(lh, resolved(model, base));
}

std::vector<FitResult> scan_segments(const Model& model, std::span<const double> data,
                                     const ScanGrid& grid, const FitOptions& base,
                                     const FitResult& best, std::size_t first,
                                     std::size_t last) {
    check_scan(model, grid);
    const FitOptions options = resolved(model, base);
    const std::size_t points = scan_points(grid);
    const std::size_t begin = std::min(first * kScanSegment, points);
    const std::size_t end = std::min(last * kScanSegment, points);
    std::vector<FitResult> fits(points);
    for (std::size_t s = begin; s < end; s += kScanSegment) {
        const std::size_t e = std::min(s + kScanSegment, end);
        if (grid.pars.size() == 1) {
            scan_chunk(model, data, options, best, grid.pars[0], grid.values_x, s, e,
                       fits);
            continue;
        }
        const std::size_t ny = grid.values_y.size();
        auto at = [&](std::size_t k, const std::vector<double>& start) {
            const std::size_t g = scan_grid_index(grid, k);
            FitOptions f =
                fixed_at(options, grid.pars[0], grid.values_x[g / ny], start);
            return fixed_at(f, grid.pars[1], grid.values_y[g % ny], f.init);
        };
        path_chunk(model, data, best, s, e, fits, at);
    }
    return {std::make_move_iterator(fits.begin() + begin),
            std::make_move_iterator(fits.begin() + end)};
}

ScanResult scan_finish(const Model& model, std::span<const double> data,
                       const ScanGrid& grid, const FitOptions& base,
                       const FitResult& best, const std::vector<FitResult>& fits) {
    check_scan(model, grid);
    if (fits.size() != scan_points(grid))
        throw InvalidArgument("scan_finish: one fit per grid point expected");
    const FitOptions options = resolved(model, base);
    ScanResult out;
    out.best = best;
    out.twice_nll.assign(fits.size(), 0.0);
    out.valid.assign(fits.size(), false);
    out.pars = grid.pars;
    out.values_x = grid.values_x;
    if (grid.pars.size() == 2) out.values_y = grid.values_y;
    finish(
        model, data, options, fits,
        [&](std::size_t k) { return scan_grid_index(grid, k); }, out);
    return out;
}

namespace {

ScanResult scan_on_threads(const Model& model, std::span<const double> data,
                           const ScanGrid& grid, const FitOptions& base, int jobs) {
    const FitResult best = scan_best(model, data, grid, base);
    const std::size_t points = scan_points(grid);
    const std::size_t segments = (points + kScanSegment - 1) / kScanSegment;
    std::vector<FitResult> fits(points);
    // threads take fixed segments: the numbers do not depend on `jobs`
    parallel_chunks(segments, jobs, [&](std::size_t begin, std::size_t end) {
        std::vector<FitResult> part =
            scan_segments(model, data, grid, base, best, begin, end);
        std::move(part.begin(), part.end(),
                  fits.begin() + static_cast<std::ptrdiff_t>(begin * kScanSegment));
    });
    return scan_finish(model, data, grid, base, best, fits);
}

} // namespace

ScanResult scan(const Model& model, std::span<const double> data, std::size_t par,
                std::span<const double> values, const FitOptions& base, int jobs) {
    const ScanGrid grid{{par}, {values.begin(), values.end()}, {}};
    return scan_on_threads(model, data, grid, base, jobs);
}

ScanResult scan2d(const Model& model, std::span<const double> data, std::size_t par_x,
                  std::span<const double> values_x, std::size_t par_y,
                  std::span<const double> values_y, const FitOptions& base, int jobs) {
    const ScanGrid grid{{par_x, par_y},
                        {values_x.begin(), values_x.end()},
                        {values_y.begin(), values_y.end()}};
    return scan_on_threads(model, data, grid, base, jobs);
}

FitResult profile_fit(const Model& model, std::span<const double> data, std::size_t par,
                      double value, const FitOptions& base, const FitResult* free) {
    check_par(model, par);
    const FitOptions options = resolved(model, base);
    Likelihood lh(model, data);
    FitResult unconditional;
    if (free) {
        unconditional = *free;
    } else {
        FitOptions o = options;
        o.fixed[par] = false;
        o.init[par] =
            std::clamp(o.init[par], o.bounds[par].first, o.bounds[par].second);
        o.compute_covariance = true;
        unconditional = robust_fit(lh, o);
    }
    Solutions known;
    if (unconditional.valid) known[unconditional.bestfit[par]] = unconditional.bestfit;
    const double step = continuation_step(options, par, &unconditional);
    FitResult r =
        conditional_fit(lh, options, par, value, unconditional.bestfit, known, step);
    // the caller's own start competes too
    FitResult own = fit(lh, fixed_at(options, par, value, options.init));
    if (better(own, r)) r = std::move(own);
    if (options.compute_covariance && r.valid) {
        FitOptions o = fixed_at(options, par, value, r.bestfit);
        o.compute_covariance = true;
        FitResult with_cov = fit(lh, o);
        if (with_cov.valid && with_cov.twice_nll <= r.twice_nll + 1e-9)
            r = std::move(with_cov);
    }
    return r;
}

namespace {

// One MINOS pass around `best`; `lower_solution` receives the lowest profile point if
// it lies below `best` (then `best` was a local minimum).
MinosResult minos_around(Likelihood& lh, const FitOptions& options,
                         const FitResult& best, std::size_t par, double delta,
                         std::vector<double>& lower_solution) {
    const double x0 = best.bestfit[par];
    const double sigma = best.uncertainty.empty() || best.uncertainty[par] <= 0
                             ? 1.0
                             : best.uncertainty[par];
    const auto [lo, hi] = options.bounds[par];
    MinosResult out;
    std::string failures;
    // f(x) = profile -2 ln L(x) - minimum - delta; each profile fit starts from the
    // best fit and from the solutions found next to x (see conditional_fit).
    Solutions known;
    known[x0] = best.bestfit;
    double lowest = best.twice_nll, lowest_at = x0;
    auto f = [&](double x) {
        const FitResult r =
            conditional_fit(lh, options, par, x, best.bestfit, known, sigma);
        if (!r.valid) {
            failures = "profile fit at " + std::to_string(x) + ": " + r.message;
        } else if (r.twice_nll < lowest) {
            lowest = r.twice_nll;
            lowest_at = x;
            if (lowest < best.twice_nll - 1e-6) lower_solution = r.bestfit;
        }
        return r.twice_nll - best.twice_nll - delta;
    };
    for (int side : {-1, +1}) {
        const double bound = side < 0 ? lo : hi;
        double inner = x0, f_inner = -delta, outer = x0, f_outer = -delta;
        bool at_bound = false;
        for (double step = sigma; f_outer < 0; step *= 2.0) {
            inner = outer;
            f_inner = f_outer;
            outer = x0 + side * step;
            if ((side < 0 && outer <= bound) || (side > 0 && outer >= bound)) {
                outer = bound;
                f_outer = f(outer);
                at_bound = f_outer < 0;
                break;
            }
            f_outer = f(outer);
        }
        double x = outer;
        if (!at_bound) {
            // Illinois false position on the bracket [inner, outer]
            int last = 0;
            for (int it = 0; it < 100 && std::abs(outer - inner) > 1e-7 * sigma; ++it) {
                const double trial =
                    inner - f_inner * (outer - inner) / (f_outer - f_inner);
                const double ft = f(trial);
                x = trial;
                if (std::abs(ft) < 1e-10) break;
                if (ft < 0) {
                    inner = trial, f_inner = ft;
                    if (last < 0) f_outer *= 0.5;
                    last = -1;
                } else {
                    outer = trial, f_outer = ft;
                    if (last > 0) f_inner *= 0.5;
                    last = +1;
                }
            }
        }
        if (side < 0) {
            out.lower = x - x0;
            out.lower_at_bound = at_bound;
        } else {
            out.upper = x - x0;
            out.upper_at_bound = at_bound;
        }
    }
    if (lowest < best.twice_nll - 1e-6) {
        append_message(failures, "the profile at " + std::to_string(lowest_at) +
                                     " is " + std::to_string(best.twice_nll - lowest) +
                                     " below the best fit: the fit stopped in a local "
                                     "minimum");
    }
    out.message = failures;
    out.valid = failures.empty();
    return out;
}

} // namespace

MinosResult minos(const Model& model, std::span<const double> data,
                  const FitResult& best, std::size_t par, double delta,
                  const FitOptions& base) {
    check_par(model, par);
    const FitOptions options = resolved(model, base);
    if (options.fixed[par]) throw InvalidArgument("MINOS on a fixed parameter");
    Likelihood lh(model, data);
    // A profile point below the best fit shows that the fit stopped in a local
    // minimum: the free fit restarts from that point and MINOS runs again around the
    // lower minimum (a few times at most).
    FitResult around = best;
    std::vector<double> lower;
    MinosResult out = minos_around(lh, options, around, par, delta, lower);
    for (int round = 0; round < 3 && !lower.empty(); ++round) {
        FitOptions restart = warm(options, lower);
        restart.compute_covariance = true;
        FitResult refit = fit(lh, restart);
        if (!refit.valid || !(refit.twice_nll < around.twice_nll)) break;
        around = std::move(refit);
        lower.clear();
        out = minos_around(lh, options, around, par, delta, lower);
        out.improved_best = true;
    }
    out.best = std::move(around);
    return out;
}

} // namespace hifit
