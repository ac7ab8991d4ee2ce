// Pseudo-experiments and toy-based CLs (pyhf's ToyCalculator semantics).
#include <hifit/errors.hpp>
#include <hifit/infer/impacts.hpp>
#include <hifit/infer/limits.hpp>
#include <hifit/infer/scans.hpp>
#include <hifit/infer/stats.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include "fit/setup.hpp"
#include "infer/messages.hpp"
#include "infer/parallel.hpp"
#include "infer/toy_fits.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace hifit {

namespace {

double poisson(std::mt19937_64& rng, double mean) {
    if (!(mean > 0)) return 0.0;
    return static_cast<double>(std::poisson_distribution<long long>(mean)(rng));
}

// Fraction of samples >= x (pyhf's EmpiricalDistribution.pvalue); `sorted` ascending.
double tail_fraction(const std::vector<double>& sorted, double x) {
    if (sorted.empty()) return std::nan("");
    const auto it = std::lower_bound(sorted.begin(), sorted.end(), x);
    return static_cast<double>(sorted.end() - it) / static_cast<double>(sorted.size());
}

// numpy.percentile with linear interpolation.
double percentile(const std::vector<double>& sorted, double q) {
    const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

} // namespace

std::vector<double> sample_toy(const Model& model, std::span<const double> pars,
                               unsigned long long seed, unsigned long long index) {
    std::vector<double> out(model.nmain() + model.naux());
    ToySampler(model, pars).sample(seed, index, out);
    return out;
}

std::vector<double> sample_toy_prior(const Model& model, std::span<const double> pars,
                                     std::span<const double> data,
                                     std::span<const std::pair<double, double>> bounds,
                                     const std::vector<bool>& fixed,
                                     unsigned long long seed,
                                     unsigned long long index) {
    const ModelData& md = model.compiled();
    if (data.size() != model.nmain() + model.naux() || pars.size() != model.npars() ||
        bounds.size() != model.npars() || fixed.size() != model.npars())
        throw InvalidArgument(
            "sample_toy_prior: data, pars, bounds or fixed of the wrong size");
    std::mt19937_64 rng = toy_rng(seed, index);
    const double* aux = data.data() + model.nmain();
    std::vector<double> drawn(pars.begin(), pars.end());
    // RooFit draws within the parameter's range: redraw outside it (a truncated pdf)
    auto within = [&](std::uint32_t par, auto&& draw) {
        if (fixed[par]) return;
        const auto [lo, hi] = bounds[par];
        double x = draw();
        for (int tries = 0; (x < lo || x > hi) && tries < 1000; ++tries) x = draw();
        drawn[par] = std::clamp(x, lo, hi);
    };
    for (const GaussianTerm& t : md.gaussian) {
        std::normal_distribution<double> prior(aux[t.aux], t.sigma);
        within(t.par, [&] { return prior(rng); });
    }
    for (const PoissonTerm& t : md.poisson) {
        std::gamma_distribution<double> prior(aux[t.aux] + 1.0, 1.0 / t.factor);
        within(t.par, [&] { return prior(rng); });
    }
    std::vector<double> out(data.begin(), data.end());
    Likelihood lh(model, out);
    std::vector<double> expected(model.nmain());
    lh.expected_data(drawn, expected, false);
    for (std::size_t b = 0; b < model.nmain(); ++b) out[b] = poisson(rng, expected[b]);
    return out;
}

ToyPlan toys_plan(const Model& model, std::span<const double> data, double mu,
                  TestStat stat, const FitOptions& base) {
    if (!model.poi_index())
        throw InvalidArgument("toys need a model with a parameter of interest");
    const std::size_t poi = *model.poi_index();
    const FitOptions options = resolved(model, base);
    if (stat == TestStat::q0) mu = 0.0;
    ToyPlan plan;
    plan.mu = mu;
    plan.stat = stat;
    const TestStatResult observed = test_statistic(model, data, mu, stat, options);
    plan.q_obs = observed.value;
    // Toys are thrown around the conditional fits to data: signal+background at mu,
    // background-only at 0 (1 for discovery, where the roles swap).
    Likelihood lh(model, data);
    const double bkg_mu = stat == TestStat::q0 ? 1.0 : 0.0;
    const FitResult sb_fit =
        robust_fit(lh, fixed_at(options, poi, mu, observed.free_fit.bestfit));
    const FitResult b_fit =
        robust_fit(lh, fixed_at(options, poi, bkg_mu, observed.free_fit.bestfit));
    if (!observed.valid() || !sb_fit.valid || !b_fit.valid) {
        plan.message = "a fit to the observed data did not converge";
    }
    plan.sb_pars = sb_fit.bestfit;
    plan.b_pars = b_fit.bestfit;
    return plan;
}

ToyBatch toys_range(const Model& model, const ToyPlan& plan, unsigned long long seed,
                    std::size_t begin, std::size_t end, const FitOptions& base,
                    ToyFits fits) {
    const FitOptions options = resolved(model, base);
    const double mu = plan.mu;
    const TestStat stat = plan.stat;
    ToyBatch out;
    const std::size_t n = end > begin ? end - begin : 0;
    out.q_sb.assign(n, 0.0);
    out.q_b.assign(n, 0.0);
    out.ok_sb.assign(n, 0);
    out.ok_b.assign(n, 0);
    ToySampler sb_toys(model, plan.sb_pars), b_toys(model, plan.b_pars);
    ToyTestStatistic sb_fast(model, options, mu, stat, plan.sb_pars),
        b_fast(model, options, mu, stat, plan.b_pars);
    std::vector<double> toy(sb_toys.size());
    // q of toy `index`; each toy's fits start at its generating point, so q depends
    // on (seed, index) alone, not on the range it runs in.
    auto q_of = [&](ToySampler& toys, ToyTestStatistic& fast, std::size_t index,
                    char& ok) {
        toys.sample(seed, index, toy);
        if (fits == ToyFits::fast) {
            bool valid = false;
            const double q = fast.evaluate(toy, valid);
            ok = valid;
            return q;
        }
        const TestStatResult r = test_statistic(model, toy, mu, stat, options);
        ok = r.valid();
        return r.value;
    };
    for (std::size_t i = begin; i < end; ++i) {
        // Distinct streams for the two hypotheses: index 2i and 2i + 1.
        out.q_sb[i - begin] = q_of(sb_toys, sb_fast, 2 * i, out.ok_sb[i - begin]);
        out.q_b[i - begin] = q_of(b_toys, b_fast, 2 * i + 1, out.ok_b[i - begin]);
    }
    return out;
}

ToyResult toys_summary(const ToyPlan& plan, const ToyBatch& toys) {
    const TestStat stat = plan.stat;
    ToyResult out;
    out.q_obs = plan.q_obs;
    out.message = plan.message;
    // Toys whose fits failed are left out and counted, never silently kept.
    auto keep = [&](const std::vector<double>& q, const std::vector<char>& ok) {
        std::vector<double> kept;
        for (std::size_t i = 0; i < q.size(); ++i) {
            if (ok[i])
                kept.push_back(q[i]);
            else
                ++out.failed_toys;
        }
        std::sort(kept.begin(), kept.end());
        return kept;
    };
    out.q_sb = keep(toys.q_sb, toys.ok_sb);
    out.q_b = keep(toys.q_b, toys.ok_b);
    out.clsb_obs = tail_fraction(out.q_sb, out.q_obs);
    out.clb_obs = tail_fraction(out.q_b, out.q_obs);
    out.cls_obs = stat == TestStat::q0 ? out.clsb_obs : out.clsb_obs / out.clb_obs;
    const auto n_sb = static_cast<double>(out.q_sb.size());
    out.cls_obs_err = stat == TestStat::q0
                          ? stats::binomial_error(out.clsb_obs, n_sb)
                          : stats::cls_mc_error(out.clsb_obs, n_sb, out.clb_obs,
                                                static_cast<double>(out.q_b.size()));
    // Expected band: CLs of every background-only toy, at pyhf's percentiles.
    std::vector<double> cls_of_b;
    for (double q : out.q_b) {
        const double clsb = tail_fraction(out.q_sb, q), clb = tail_fraction(out.q_b, q);
        cls_of_b.push_back(stat == TestStat::q0 ? clsb : clsb / clb);
    }
    std::sort(cls_of_b.begin(), cls_of_b.end());
    const double quantiles[5] = {2.27501319, 15.86552539, 50.0, 84.13447461,
                                 97.72498681};
    for (int k = 0; k < 5; ++k) {
        out.cls_exp[static_cast<std::size_t>(k)] =
            cls_of_b.empty() ? std::nan("") : percentile(cls_of_b, quantiles[k]);
    }
    if (out.failed_toys > 0) {
        append_message(out.message,
                       std::to_string(out.failed_toys) +
                           " toys were left out: their fits did not converge, or "
                           "-2 ln L had no minimum (an expected rate "
                           "below zero in a bin without events)");
    }
    out.valid = out.message.empty();
    return out;
}

ToyResult hypotest_toys(const Model& model, std::span<const double> data, double mu,
                        TestStat stat, int ntoys, unsigned long long seed, int jobs,
                        const FitOptions& base, ToyFits fits) {
    if (ntoys <= 0) throw InvalidArgument("the number of toys must be positive");
    const ToyPlan plan = toys_plan(model, data, mu, stat, base);
    const auto n = static_cast<std::size_t>(ntoys);
    ToyBatch all;
    all.q_sb.assign(n, 0.0);
    all.q_b.assign(n, 0.0);
    all.ok_sb.assign(n, 0);
    all.ok_b.assign(n, 0);
    // each toy depends on (seed, index) alone, so the chunking does not matter
    parallel_chunks(n, jobs, [&](std::size_t begin, std::size_t end) {
        const ToyBatch part = toys_range(model, plan, seed, begin, end, base, fits);
        std::copy(part.q_sb.begin(), part.q_sb.end(), all.q_sb.begin() + begin);
        std::copy(part.q_b.begin(), part.q_b.end(), all.q_b.begin() + begin);
        std::copy(part.ok_sb.begin(), part.ok_sb.end(), all.ok_sb.begin() + begin);
        std::copy(part.ok_b.begin(), part.ok_b.end(), all.ok_b.begin() + begin);
    });
    return toys_summary(plan, all);
}

} // namespace hifit
