// Profile-likelihood scans (1D, 2D) and MINOS intervals.
#include <hifit/errors.hpp>
#include <hifit/infer.hpp>

#include "fit_setup.hpp"
#include "parallel.hpp"

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

// Fits at each grid point in [begin, end), each starting from the previous solution.
template <class FixPoint>
void scan_chunk(const Model& model, std::span<const double> data,
                const FitOptions& options, const FitResult& best, std::size_t begin,
                std::size_t end, ScanResult& out, FixPoint fix_point) {
    Likelihood lh(model, data);
    std::vector<double> start = best.bestfit;
    for (std::size_t i = begin; i < end; ++i) {
        FitOptions o = fix_point(i, options, start);
        const FitResult r = robust_fit(lh, o);
        out.twice_nll[i] = r.twice_nll;
        out.valid[i] = r.valid;
        if (r.valid) start = r.bestfit;
    }
}

ScanResult prepare(const Model& model, std::span<const double> data,
                   const FitOptions& options, std::size_t points) {
    ScanResult out;
    Likelihood lh(model, data);
    out.best = robust_fit(lh, options);
    out.twice_nll.assign(points, 0.0);
    out.valid.assign(points, false);
    return out;
}

void finish(ScanResult& out) {
    out.delta_twice_nll.resize(out.twice_nll.size());
    for (std::size_t i = 0; i < out.twice_nll.size(); ++i) {
        out.delta_twice_nll[i] = out.twice_nll[i] - out.best.twice_nll;
    }
}

} // namespace

ScanResult scan(const Model& model, std::span<const double> data, std::size_t par,
                std::span<const double> values, const FitOptions& base, int jobs) {
    check_par(model, par);
    const FitOptions options = resolved(model, base);
    ScanResult out = prepare(model, data, options, values.size());
    out.pars = {par};
    out.values_x.assign(values.begin(), values.end());
    parallel_chunks(values.size(), jobs, [&](std::size_t begin, std::size_t end) {
        scan_chunk(
            model, data, options, out.best, begin, end, out,
            [&](std::size_t i, const FitOptions& o, const std::vector<double>& start) {
                return fixed_at(o, par, values[i], start);
            });
    });
    finish(out);
    return out;
}

ScanResult scan2d(const Model& model, std::span<const double> data, std::size_t par_x,
                  std::span<const double> values_x, std::size_t par_y,
                  std::span<const double> values_y, const FitOptions& base, int jobs) {
    check_par(model, par_x);
    check_par(model, par_y);
    if (par_x == par_y)
        throw InvalidArgument("a 2D scan needs two different parameters");
    const FitOptions options = resolved(model, base);
    const std::size_t ny = values_y.size();
    ScanResult out = prepare(model, data, options, values_x.size() * ny);
    out.pars = {par_x, par_y};
    out.values_x.assign(values_x.begin(), values_x.end());
    out.values_y.assign(values_y.begin(), values_y.end());
    // Serpentine order: consecutive points are neighbours on the grid.
    auto grid_index = [&](std::size_t k) {
        const std::size_t row = k / ny, col = k % ny;
        return row * ny + (row % 2 == 0 ? col : ny - 1 - col);
    };
    ScanResult ordered = out;
    parallel_chunks(
        out.twice_nll.size(), jobs, [&](std::size_t begin, std::size_t end) {
            scan_chunk(model, data, options, out.best, begin, end, ordered,
                       [&](std::size_t k, const FitOptions& o,
                           const std::vector<double>& start) {
                           const std::size_t g = grid_index(k);
                           FitOptions f = fixed_at(o, par_x, values_x[g / ny], start);
                           return fixed_at(f, par_y, values_y[g % ny], f.init);
                       });
        });
    for (std::size_t k = 0; k < out.twice_nll.size(); ++k) {
        out.twice_nll[grid_index(k)] = ordered.twice_nll[k];
        out.valid[grid_index(k)] = ordered.valid[k];
    }
    finish(out);
    return out;
}

MinosResult minos(const Model& model, std::span<const double> data,
                  const FitResult& best, std::size_t par, double delta,
                  const FitOptions& base) {
    check_par(model, par);
    const FitOptions options = resolved(model, base);
    if (options.fixed[par]) throw InvalidArgument("MINOS on a fixed parameter");
    Likelihood lh(model, data);
    const double x0 = best.bestfit[par];
    const double sigma = best.uncertainty.empty() || best.uncertainty[par] <= 0
                             ? 1.0
                             : best.uncertainty[par];
    const auto [lo, hi] = options.bounds[par];
    MinosResult out;
    std::string failures;
    // f(x) = profile -2 ln L(x) - minimum - delta, warm-started from the last solution.
    std::vector<double> start = best.bestfit;
    auto f = [&](double x) {
        const FitResult r = robust_fit(lh, fixed_at(options, par, x, start));
        if (!r.valid)
            failures = "profile fit at " + std::to_string(x) + ": " + r.message;
        else
            start = r.bestfit;
        return r.twice_nll - best.twice_nll - delta;
    };
    for (int side : {-1, +1}) {
        start = best.bestfit;
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
    out.message = failures;
    out.valid = failures.empty();
    return out;
}

} // namespace hifit
