// Profile fits, profile-likelihood scans (1D, 2D) and MINOS intervals.
#pragma once

#include <hifit/fit/minimizer.hpp>
#include <hifit/likelihood/model.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace hifit {

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
// Fixed segments of the grid (see scan_segments) run on `jobs` threads.
ScanResult scan(const Model& model, std::span<const double> data, std::size_t par,
                std::span<const double> values, const FitOptions& base = {},
                int jobs = 1);
ScanResult scan2d(const Model& model, std::span<const double> data, std::size_t par_x,
                  std::span<const double> values_x, std::size_t par_y,
                  std::span<const double> values_y, const FitOptions& base = {},
                  int jobs = 1);

// A scan in steps, so its points can run anywhere (threads, Dask workers): the
// unconditional fit, the fits of fixed segments of kScanSegment consecutive points
// (in serpentine order for 2D; warm starts never cross a segment boundary, so a
// point's fit does not depend on where its segment ran), and the result.
struct ScanGrid {
    std::vector<std::size_t> pars; // one or two
    std::vector<double> values_x, values_y;
};
inline constexpr std::size_t kScanSegment = 16;
std::size_t scan_points(const ScanGrid& grid);
// The row-major grid index of the k-th point along the scan path.
std::size_t scan_grid_index(const ScanGrid& grid, std::size_t k);
FitResult scan_best(const Model& model, std::span<const double> data,
                    const ScanGrid& grid, const FitOptions& base = {});
// The fits of the points of segments [first, last), in path order.
std::vector<FitResult> scan_segments(const Model& model, std::span<const double> data,
                                     const ScanGrid& grid, const FitOptions& base,
                                     const FitResult& best, std::size_t first,
                                     std::size_t last);
// `fits`: one per point, in path order.
ScanResult scan_finish(const Model& model, std::span<const double> data,
                       const ScanGrid& grid, const FitOptions& base,
                       const FitResult& best, const std::vector<FitResult>& fits);

struct MinosResult {
    double lower = 0.0; // negative offset from the best fit
    double upper = 0.0; // positive offset
    bool lower_at_bound = false, upper_at_bound = false;
    bool valid = false;
    std::string message;
    // The minimum the interval is around: the given fit, or a lower one found by the
    // profile fits (the given fit was a local minimum) and refitted from there.
    FitResult best;
    bool improved_best = false;
};

// Asymmetric interval where the profile -2 ln L rises by `delta` (1 = 68.3 %).
MinosResult minos(const Model& model, std::span<const double> data,
                  const FitResult& best, std::size_t par, double delta = 1.0,
                  const FitOptions& base = {});

} // namespace hifit
