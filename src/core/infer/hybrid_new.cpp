// Combine's HybridNew, LHC mode: frequentist toys, CLs with its Monte-Carlo error and
// the upper-limit search of HybridNew::runLimit.
#include <hifit/errors.hpp>
#include <hifit/infer/hybrid_new.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include "fit/setup.hpp"
#include "infer/messages.hpp"
#include "infer/parallel.hpp"
#include "infer/toy_fits.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

namespace hifit {

namespace {

// Combine shifts the observed statistic by its EPS (1e-4 in NLL units) so that toys
// equal to it count as "at least as extreme" (discrete models).
constexpr double kEps = 2.0 * 1e-4;

double fraction_at_least(const std::vector<double>& q, double x) {
    if (q.empty()) return 0.0;
    const auto n = std::count_if(q.begin(), q.end(), [x](double v) { return v >= x; });
    return static_cast<double>(n) / static_cast<double>(q.size());
}

double binomial_error(double p, std::size_t n) {
    return n == 0 ? 0.0 : std::sqrt(p * (1.0 - p) / static_cast<double>(n));
}

// The statistic standing in for data at --expectedFromGrid `quantile`, as Combine's
// default (--clsQuantiles 1, HybridNew::applyClsQuantile): each b-only toy gets
// CLs = P(q_sb >= q) / (its tail fraction among the sorted b-only toys), or CLs+b
// alone, and the toy where that distribution reaches `quantile` is taken. Tied toys
// get different tail fractions by position, so with a discrete statistic this is not
// the plain b-only quantile.
double cls_quantile_statistic(std::vector<double> q_b, std::vector<double> q_sb,
                              double quantile, bool cls) {
    std::sort(q_b.begin(), q_b.end());
    std::sort(q_sb.begin(), q_sb.end());
    const auto nb = static_cast<double>(q_b.size());
    const auto ns = static_cast<double>(q_sb.size());
    std::vector<std::pair<double, double>> by_cls; // (CLs, statistic)
    by_cls.reserve(q_b.size());
    for (std::size_t k = q_b.size(); k-- > 0;) {
        const double pb = (nb - static_cast<double>(k)) / nb;
        const auto match = std::lower_bound(q_sb.begin(), q_sb.end(), q_b[k]);
        const double pmu = match == q_sb.end()
                               ? (1.0 / ns > 0.5 ? 1.0 : 0.0)
                               : static_cast<double>(q_sb.end() - match) / ns;
        by_cls.emplace_back(cls ? pmu / pb : pmu, q_b[k]);
    }
    std::sort(by_cls.begin(), by_cls.end());
    const double cut = quantile * nb;
    double sum = 0.0;
    for (const auto& [value, q] : by_cls) {
        if (++sum >= cut) return q;
    }
    return by_cls.back().second;
}

// Least-squares fit of y = target exp(p1 (x - p2)) (ROOT's "expoFit" of runLimit):
// Gauss-Newton with step halving; returns false if it does not converge.
bool expo_fit(const std::vector<double>& x, const std::vector<double>& y,
              const std::vector<double>& e, double target, double& p1, double& p2,
              double& p2_err) {
    auto chi2 = [&](double a, double b) {
        double s = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double r = (y[i] - target * std::exp(a * (x[i] - b))) / e[i];
            s += r * r;
        }
        return s;
    };
    double current = chi2(p1, p2);
    double h11 = 0, h12 = 0, h22 = 0;
    for (int it = 0; it < 200; ++it) {
        double g1 = 0, g2 = 0;
        h11 = h12 = h22 = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double f = target * std::exp(p1 * (x[i] - p2));
            const double d1 = f * (x[i] - p2), d2 = -f * p1, w = 1.0 / (e[i] * e[i]);
            const double r = y[i] - f;
            g1 += w * r * d1, g2 += w * r * d2;
            h11 += w * d1 * d1, h12 += w * d1 * d2, h22 += w * d2 * d2;
        }
        const double det = h11 * h22 - h12 * h12;
        if (!(std::abs(det) > 0)) return false;
        double s1 = (h22 * g1 - h12 * g2) / det, s2 = (h11 * g2 - h12 * g1) / det;
        bool improved = false;
        for (int half = 0; half < 30; ++half, s1 *= 0.5, s2 *= 0.5) {
            const double next = chi2(p1 + s1, p2 + s2);
            if (std::isfinite(next) && next <= current) {
                p1 += s1, p2 += s2;
                improved = current - next > 1e-12 * (1.0 + current);
                current = next;
                break;
            }
        }
        if (!improved) break;
    }
    const double det = h11 * h22 - h12 * h12;
    if (!(det > 0)) return false;
    // the curvature matrix is 1/2 the Hessian of chi2: errors from its inverse
    p2_err = std::sqrt(h11 / det);
    return std::isfinite(p2) && std::isfinite(p2_err);
}

} // namespace

void hybrid_new_toys(const Model& model, const FitOptions& base,
                     const HybridToyBatch& batch, std::size_t begin, std::size_t end,
                     std::vector<double>& q, std::vector<char>& ok) {
    FitOptions options = resolved(model, base);
    options.compute_covariance = false;
    // the fits start where the toy was generated (warm start), as do the reference
    // fits of the fallback
    ToySampler sb_toys(model, batch.sb_gen), b_toys(model, batch.b_gen);
    ToyTestStatistic sb_q(model, options, batch.r, TestStat::qmu_tilde, batch.sb_gen,
                          true),
        b_q(model, options, batch.r, TestStat::qmu_tilde, batch.b_gen, true);
    std::vector<double> toy(sb_toys.size());
    for (std::size_t i = begin; i < end; ++i) {
        const bool sb = i < batch.n_sb;
        (sb ? sb_toys : b_toys).sample(batch.seed, batch.first_stream + i, toy);
        bool valid = false;
        q[i] = (sb ? sb_q : b_q).evaluate(toy, valid);
        ok[i] = valid;
    }
}

HybridNew::HybridNew(const Model& model, std::span<const double> data, FitOptions base,
                     HybridNewOptions options)
    : model_(model), data_(data.begin(), data.end()), opt_(options) {
    if (!model.poi_index())
        throw InvalidArgument("HybridNew needs a model with a parameter of interest");
    if (opt_.toys <= 0)
        throw InvalidArgument("the number of toys (-T) must be positive");
    poi_ = *model.poi_index();
    options_ = resolved(model, std::move(base));
    options_.compute_covariance = false;
}

void HybridNew::add_batch(HybridPoint& point, std::size_t batch) {
    const std::size_t n_sb = static_cast<std::size_t>(opt_.toys);
    const bool first = batch == 0;
    // runLimit's batches: a quarter as many b-only toys (+1 in the adaptive ones)
    std::size_t n_b =
        opt_.full_b_toys ? n_sb
                         : static_cast<std::size_t>(0.25 * opt_.toys + (first ? 0 : 1));
    if (opt_.expected_quantile >= 0 && std::abs(0.5 - opt_.expected_quantile) >= 0.4)
        n_b = n_sb; // two-sigma bands need as many b-only toys
    if (!opt_.cls) n_b = first ? 1 : 0;
    n_b = std::max<std::size_t>(n_b, opt_.cls ? 1 : 0);
    // generating points: the fits to data at r and at 0, once per point
    if (first) {
        Likelihood lh(model_, data_);
        const FitResult sb = robust_fit(lh, fixed_at(options_, poi_, point.r, {}));
        if (b_gen_.empty()) {
            const FitResult b = robust_fit(lh, fixed_at(options_, poi_, 0.0, {}));
            b_gen_ = b.bestfit;
            if (!b.valid)
                b_gen_message_ =
                    "the b-only fit to data generating the toys: " + b.message;
        }
        if (!sb.valid)
            append_message(point.message,
                           "the fit to data generating the toys: " + sb.message);
        append_message(point.message, b_gen_message_);
        sb_gen_[point.r] = sb.bestfit;
    }
    const std::vector<double>& sb_gen = sb_gen_.at(point.r);
    const std::size_t total = n_sb + n_b;
    std::vector<double> q(total, 0.0);
    std::vector<char> ok(total, 0);
    // distinct streams per point (its rank), batch and hypothesis
    const auto rank = static_cast<unsigned long long>(
        std::find(order_.begin(), order_.end(), point.r) - order_.begin());
    const unsigned long long base = ((rank << 12) + batch) << 24;
    const HybridToyBatch toys{point.r, sb_gen, b_gen_, n_sb, total, opt_.seed, base};
    if (opt_.run_toys) {
        opt_.run_toys(toys, q, ok);
        if (q.size() != total || ok.size() != total)
            throw InvalidArgument("HybridNew: the toy runner returned a wrong count");
    } else {
        parallel_chunks(total, opt_.jobs, [&](std::size_t begin, std::size_t end) {
            hybrid_new_toys(model_, options_, toys, begin, end, q, ok);
        });
    }
    for (std::size_t i = 0; i < total; ++i) {
        if (!ok[i]) {
            ++point.failed_toys;
            continue;
        }
        (i < n_sb ? point.q_sb : point.q_b).push_back(q[i]);
    }
    update(point);
}

void HybridNew::update(HybridPoint& p) const {
    double q = p.q_obs;
    if (opt_.expected_quantile >= 0 && opt_.cls_quantiles && !p.q_b.empty() &&
        !p.q_sb.empty()) {
        q = cls_quantile_statistic(p.q_b, p.q_sb, opt_.expected_quantile, opt_.cls);
    } else if (opt_.expected_quantile >= 0 && !p.q_b.empty()) {
        std::vector<double> b = p.q_b;
        std::sort(b.begin(), b.end());
        const auto k = static_cast<std::size_t>(
            std::floor((1.0 - opt_.expected_quantile) * b.size() + 0.5));
        q = b[std::min(k, b.size() - 1)];
    }
    q -= kEps;
    p.clsb = fraction_at_least(p.q_sb, q);
    p.clb = fraction_at_least(p.q_b, q);
    p.clsb_err = binomial_error(p.clsb, p.q_sb.size());
    p.clb_err = binomial_error(p.clb, p.q_b.size());
    if (!opt_.cls) {
        p.cls = p.clsb, p.cls_err = p.clsb_err;
    } else if (p.clb > 0) {
        p.cls = p.clsb / p.clb;
        p.cls_err =
            std::sqrt(p.clsb_err * p.clsb_err + p.clb_err * p.clb_err * p.cls * p.cls) /
            p.clb;
    } else {
        p.cls = 0.0, p.cls_err = 0.0;
    }
    p.valid = p.message.empty() && !p.q_sb.empty();
}

const HybridPoint& HybridNew::eval(double r, bool adaptive, double target) {
    auto it = points_.find(r);
    if (it == points_.end()) {
        order_.push_back(r);
        HybridPoint p;
        p.r = r;
        const TestStatResult t =
            test_statistic(model_, data_, r, TestStat::qmu_tilde, options_);
        p.q_obs = t.value;
        if (!t.valid()) p.message = "a fit of the test statistic on data failed";
        it = points_.emplace(r, std::move(p)).first;
        batches_[r] = 0;
        add_batch(it->second, batches_[r]++);
    }
    HybridPoint& p = it->second;
    if (adaptive && opt_.cls_acc > 0) {
        while (p.cls_err >= opt_.cls_acc &&
               (target < 0 || std::abs(p.cls - target) < 3 * p.cls_err) &&
               batches_[r] < 200)
            add_batch(p, batches_[r]++);
    } else {
        while (batches_[r] < static_cast<std::size_t>(std::max(opt_.iterations, 1)))
            add_batch(p, batches_[r]++);
    }
    return p;
}

HybridLimit HybridNew::limit(double r_min, double r_max) {
    HybridLimit out;
    const double target = 1.0 - opt_.cl;
    struct Cls {
        double v, e;
    };
    auto at = [&](double r, bool adaptive) {
        const HybridPoint& p = eval(r, adaptive, target);
        return Cls{p.cls, p.cls_err};
    };
    auto accuracy = [&](double limit) {
        return std::max(opt_.r_abs_acc, opt_.r_rel_acc * limit);
    };
    Cls cls_max{0, 0}, cls_min{1, 0};
    for (int tries = 0; tries < 6; ++tries) {
        cls_max = at(r_max, false);
        if (cls_max.v == 0 || cls_max.v + 3 * std::abs(cls_max.e) < target) break;
        r_max += r_max;
        if (tries == 5) {
            out.message = "cannot set a higher limit: at r = " + std::to_string(r_max) +
                          " CLs is still " + std::to_string(cls_max.v);
            return out;
        }
    }
    if (!(opt_.cls && r_min == 0)) cls_min = at(r_min, false);
    if (cls_min.v != 1 && cls_min.v - 3 * std::abs(cls_min.e) < target) {
        r_min = 0;
        cls_min = {1, 0};
    }
    double limit = 0, limit_err = 0, bound_lo = r_min, bound_hi = r_max;
    bool done = false;
    for (int step = 0; step < 100; ++step) {
        limit = 0.5 * (r_min + r_max);
        limit_err = 0.5 * (r_max - r_min);
        if (limit_err < accuracy(limit)) {
            done = true;
            break;
        }
        const Cls mid = at(limit, true);
        if (std::abs(mid.v - target) >= 2 * mid.e) {
            if ((mid.v > target) == (cls_max.v > target))
                r_max = limit, cls_max = mid;
            else
                r_min = limit, cls_min = mid;
            continue;
        }
        bound_lo = r_min, bound_hi = r_max;
        while (cls_min.e == 0 || std::abs(r_min - limit) > accuracy(limit)) {
            r_min = 0.5 * (r_min + limit);
            cls_min = at(r_min, true);
            if (std::abs(cls_min.v - target) <= 2 * cls_min.e) break;
            bound_lo = r_min;
        }
        while (cls_max.e == 0 || std::abs(r_max - limit) > accuracy(limit)) {
            r_max = 0.5 * (r_max + limit);
            cls_max = at(r_max, true);
            if (std::abs(cls_max.v - target) <= 2 * cls_max.e) break;
            bound_hi = r_max;
        }
        break;
    }
    if (!done) {
        double p1 = std::log(std::max(cls_max.v, 0.005) / cls_min.v) / (r_max - r_min);
        limit_err = std::max(std::abs(bound_lo - limit), std::abs(bound_hi - limit));
        std::mt19937_64 rng(opt_.seed);
        for (int i = 0; i <= 8; ++i) {
            std::vector<double> x, y, e;
            for (const auto& [r, p] : points_) {
                if (r < bound_lo || r > bound_hi || !(p.cls_err > 0)) continue;
                x.push_back(r), y.push_back(p.cls), e.push_back(p.cls_err);
            }
            double a = p1, b = limit, b_err = 0;
            if (x.size() >= 2 && expo_fit(x, y, e, target, a, b, b_err) &&
                bound_lo < b && b < bound_hi && b_err < 0.5 * (bound_hi - bound_lo)) {
                limit = b, limit_err = b_err;
                if (limit_err < accuracy(limit)) break;
            }
            if (i != 8)
                at(std::uniform_real_distribution<double>(bound_lo, bound_hi)(rng),
                   true);
        }
    }
    out.limit = limit;
    out.limit_err = limit_err;
    for (double r : order_) {
        const HybridPoint& p = points_.at(r);
        out.points.push_back(p);
        if (!p.valid)
            append_message(out.message,
                           "r = " + std::to_string(r) + ": " +
                               (p.message.empty() ? "no valid toys" : p.message));
    }
    out.valid = out.message.empty();
    return out;
}

} // namespace hifit
