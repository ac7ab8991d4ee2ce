#include <hifit/errors.hpp>
#include <hifit/workflow/templates.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>

namespace hifit::templates {

namespace {

using Index = std::ptrdiff_t;

// Middle value of an odd window of at most 5 values. Insertion sort keeps the result
// well defined (if meaningless) when a NaN is present.
double median(std::span<const double> window) {
    std::array<double, 5> sorted{};
    std::copy(window.begin(), window.end(), sorted.begin());
    const auto n = static_cast<Index>(window.size());
    for (Index i = 1; i < n; ++i) {
        const double x = sorted[i];
        Index j = i;
        for (; j > 0 && x < sorted[j - 1]; --j) sorted[j] = sorted[j - 1];
        sorted[j] = x;
    }
    return sorted[n / 2];
}

double median3(double a, double b, double c) {
    const std::array<double, 3> window{a, b, c};
    return median(window);
}

// 3 * a - 2 * b written with additions only: x + x is exact, so this rounds exactly
// like the reference, and no FMA contraction can change the result.
double extrapolate(double a, double b) {
    return (a + a + a) - (b + b);
}

void running_median3(std::vector<double>& zz) {
    const std::vector<double> yy = zz;
    for (std::size_t i = 1; i + 1 < zz.size(); ++i)
        zz[i] = median3(yy[i - 1], yy[i], yy[i + 1]);
}

// Running medians of 3, 5 and 3 bins (n >= 3).
void running_medians_353(std::vector<double>& zz) {
    const std::size_t n = zz.size();
    const std::vector<double> input = zz;
    running_median3(zz);
    // End points from the proceedings: they use the unsmoothed y_1 and y_n (ROOT uses
    // the smoothed ones). The first bin is set first: with 3 bins the last-bin rule
    // extrapolates from it.
    zz[0] = median3(extrapolate(zz[1], zz[2]), input[0], zz[1]);
    zz[n - 1] = median3(zz[n - 2], input[n - 1], extrapolate(zz[n - 2], zz[n - 3]));

    // The window of 5 does not fit around the second and second-to-last bins: they
    // take the median of 3 instead. The end points stay.
    const std::vector<double> yy = zz;
    const std::span<const double> y(yy);
    for (std::size_t i = 2; i + 2 < n; ++i) zz[i] = median(y.subspan(i - 2, 5));
    zz[1] = median(y.subspan(0, 3));
    zz[n - 2] = median(y.subspan(n - 3, 3));

    running_median3(zz);
}

// Quadratic interpolation on flat 3-bin segments that sit in a peak or a valley (the
// neighbours two bins away are both larger or both smaller): the medians flatten
// extrema, this restores a curvature.
std::vector<double> interpolate_flat_segments(const std::vector<double>& zz) {
    std::vector<double> yy = zz;
    const auto n = static_cast<Index>(zz.size());
    for (Index i = 2; i + 2 < n; ++i) {
        if (zz[i - 1] != zz[i] || zz[i] != zz[i + 1]) continue;
        const double left_larger = zz[i - 2] - zz[i];
        const double right_larger = zz[i + 2] - zz[i];
        if (left_larger * right_larger <= 0) continue; // part of a longer slope
        // Interpolate towards the steeper side.
        const Index jk = std::abs(right_larger) > std::abs(left_larger) ? -1 : 1;
        yy[i] = -0.5 * zz[i - 2 * jk] + zz[i] / 0.75 + zz[i + 2 * jk] / 6;
        yy[i + jk] = 0.5 * (zz[i + 2 * jk] - zz[i - 2 * jk]) + zz[i];
    }
    return yy;
}

// Hanning running means with weights 1/4, 1/2, 1/4; the end points stay.
void hanning(const std::vector<double>& yy, std::vector<double>& zz) {
    for (std::size_t i = 1; i + 1 < yy.size(); ++i)
        zz[i] = 0.25 * yy[i - 1] + 0.5 * yy[i] + 0.25 * yy[i + 1];
    zz.front() = yy.front();
    zz.back() = yy.back();
}

void smooth_353qh(std::vector<double>& zz) {
    running_medians_353(zz);
    hanning(interpolate_flat_segments(zz), zz);
}

// Python's min() semantics (the first value wins unless a later one is smaller), so
// that a NaN input decides the clipping as in the reference.
bool has_negative(std::span<const double> values) {
    double lowest = values.front();
    for (const double v : values)
        if (v < lowest) lowest = v;
    return lowest < 0;
}

// Left-to-right sum, the order of Python's sum() in the reference.
double sequential_sum(std::span<const double> values) {
    double total = 0.0;
    for (const double v : values) total += v;
    return total;
}

} // namespace

std::vector<double> smooth_353qh_twice(std::span<const double> values) {
    const std::size_t n = values.size();
    std::vector<double> result(values.begin(), values.end());
    if (n < 3) return result;

    std::vector<double> smooth = result;
    smooth_353qh(smooth);
    // "Twicing": smooth the residuals too and add them back, which restores the peaks
    // and valleys a single pass flattens too much.
    std::vector<double> rough(n);
    for (std::size_t i = 0; i < n; ++i) rough[i] = values[i] - smooth[i];
    smooth_353qh(rough);

    const bool clip = !has_negative(values);
    for (std::size_t i = 0; i < n; ++i) {
        result[i] = smooth[i] + rough[i];
        if (clip) result[i] = std::max(result[i], 0.0);
    }
    return result;
}

std::vector<double> smooth_variation_353qh_twice(std::span<const double> variation,
                                                 std::span<const double> nominal) {
    const std::size_t n = variation.size();
    if (nominal.size() != n)
        throw InvalidArgument("smoothing: the variation has " + std::to_string(n) +
                              " bins but the nominal has " +
                              std::to_string(nominal.size()));
    std::vector<double> ratio(n);
    for (std::size_t i = 0; i < n; ++i) ratio[i] = variation[i] / nominal[i];
    std::vector<double> smoothed = smooth_353qh_twice(ratio);
    for (std::size_t i = 0; i < n; ++i) smoothed[i] *= nominal[i];

    // Smoothing only changes the shape: keep the variation's total yield.
    const double target = sequential_sum(variation);
    const double current = sequential_sum(smoothed);
    for (double& v : smoothed) v = v * target / current;
    return smoothed;
}

} // namespace hifit::templates
