// Impacts (ranking) of nuisance parameters on the POI, and the saturated-model
// goodness of fit.
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
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace hifit {

std::vector<double> prefit_uncertainties(const Model& model) {
    const ModelData& md = model.compiled();
    std::vector<double> out(model.npars(), 0.0);
    for (const GaussianTerm& t : md.gaussian) out[t.par] = t.sigma;
    for (const PoissonTerm& t : md.poisson) out[t.par] = 1.0 / std::sqrt(t.factor);
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (model.suggested_fixed()[i]) out[i] = 0.0;
    }
    return out;
}

ImpactResult impacts(const Model& model, std::span<const double> data,
                     const FitOptions& base, int jobs, const FitResult* best,
                     const ImpactOptions& how) {
    if (!model.poi_index()) {
        throw InvalidArgument("impacts need a model with a parameter of interest");
    }
    const std::size_t poi = *model.poi_index();
    const FitOptions options = resolved(model, base);
    ImpactResult out;
    if (best) {
        out.best = *best;
    } else {
        Likelihood lh(model, data);
        FitOptions o = options;
        o.compute_covariance = true;
        out.best = robust_fit(lh, o);
    }
    const std::vector<double> prefit = prefit_uncertainties(model);
    const std::size_t n = model.npars();
    for (std::size_t i = 0; i < n; ++i) {
        if (i != poi && !options.fixed[i]) out.pars.push_back(i);
    }
    const std::size_t m = out.pars.size();
    for (auto* v : {&out.prefit_up, &out.prefit_down, &out.postfit_up,
                    &out.postfit_down, &out.cov_prefit, &out.cov_postfit,
                    &out.postfit_down_shift, &out.postfit_up_shift}) {
        v->assign(m, 0.0);
    }
    if (how.keep_fits) {
        out.postfit_down_fit.assign(m, {});
        out.postfit_up_fit.assign(m, {});
    }
    const double mu_hat = out.best.bestfit[poi];
    std::vector<int> failed(m, 0), refits(m, 0);
    std::vector<std::string> failures(m); // per parameter: threads write their own
    static const char* const shift_names[4] = {"pre-fit up", "pre-fit down",
                                               "post-fit up", "post-fit down"};
    // per parameter, in the order prefit up, down, postfit up, down (not vector<bool>:
    // threads write neighbouring entries)
    std::vector<std::array<char, 4>> clipped(m, {0, 0, 0, 0});
    const std::size_t first = std::min(how.begin, m), last = std::min(how.end, m);
    parallel_chunks(last - first, jobs, [&](std::size_t begin, std::size_t end) {
        Likelihood lh(model, data);
        for (std::size_t k = first + begin; k < first + end; ++k) {
            const std::size_t i = out.pars[k];
            const double theta = out.best.bestfit[i];
            const auto [lo, hi] = options.bounds[i];
            const double post =
                out.best.uncertainty.empty() ? 0.0 : out.best.uncertainty[i];
            // the refits of one parameter start from each other's solutions too
            Solutions known;
            known[theta] = out.best.bestfit;
            const double step = std::max(prefit[i], post);
            std::vector<double>* kept = nullptr; // where the refit's values go
            auto shifted = [&](double shift, int which) {
                if (shift == 0.0) return 0.0; // cabinetry: no fit for a zero shift
                const double value = std::clamp(theta + shift, lo, hi);
                clipped[k][which] = value != theta + shift;
                if (value == theta) return 0.0; // clipped back onto the best fit
                ++refits[k];
                const FitResult r = conditional_fit(lh, options, i, value,
                                                    out.best.bestfit, known, step);
                if (!r.valid) {
                    ++failed[k];
                    append_message(failures[k], model.par_names()[i] + " " +
                                                    shift_names[which] + " (" +
                                                    std::to_string(value) +
                                                    "): " + r.message);
                }
                if (kept) *kept = r.bestfit;
                return r.bestfit[poi] - mu_hat;
            };
            if (how.prefit) {
                out.prefit_up[k] = shifted(prefit[i], 0);
                out.prefit_down[k] = shifted(-prefit[i], 1);
            }
            double down = -post, up = post;
            if (how.profile_delta > 0) {
                // Combine: the parameter's own profile-likelihood interval
                const MinosResult crossing =
                    minos(model, data, out.best, i, how.profile_delta, options);
                if (!crossing.valid) {
                    ++failed[k];
                    append_message(failures[k], model.par_names()[i] +
                                                    " interval: " + crossing.message);
                }
                down = crossing.lower; // negative
                up = crossing.upper;
            }
            out.postfit_down_shift[k] = down;
            out.postfit_up_shift[k] = up;
            if (how.keep_fits) kept = &out.postfit_up_fit[k];
            out.postfit_up[k] = shifted(up, 2);
            if (how.keep_fits) kept = &out.postfit_down_fit[k];
            out.postfit_down[k] = shifted(down, 3);
            // Linear estimate from the covariance: d mu = cov(mu, theta) / var(theta) *
            // shift.
            if (out.best.covariance.size() == n * n && post > 0) {
                const double slope = out.best.covariance[poi * n + i] / (post * post);
                out.cov_postfit[k] = slope * post;
                out.cov_prefit[k] = slope * prefit[i];
            }
        }
    });
    for (int f : failed) out.failed_fits += f;
    if (!out.best.valid) out.message = "free fit: " + out.best.message;
    for (const std::string& f : failures) append_message(out.message, f);
    for (int r : refits) out.refits += r;
    std::vector<bool>* flags[4] = {&out.prefit_up_clipped, &out.prefit_down_clipped,
                                   &out.postfit_up_clipped, &out.postfit_down_clipped};
    for (int j = 0; j < 4; ++j) {
        flags[j]->assign(m, false);
        for (std::size_t k = 0; k < m; ++k) {
            (*flags[j])[k] = clipped[k][j] != 0;
            out.clipped += clipped[k][j] != 0;
        }
    }
    out.valid = out.best.valid && out.failed_fits == 0;
    return out;
}

GoodnessOfFit goodness_of_fit(const Model& model, std::span<const double> data,
                              const FitResult& best, const std::vector<bool>& fixed) {
    const ModelData& md = model.compiled();
    const std::vector<bool>& is_fixed = fixed.empty() ? model.suggested_fixed() : fixed;
    // Against the saturated model (every rate at its count, every constrained parameter
    // at its measurement): the deviance at the best fit, summed term by term rather
    // than as a difference of two large -2 ln L.
    Likelihood lh(model, data);
    GoodnessOfFit out;
    out.twice_delta_nll = lh.twice_deviance(best.bestfit);
    // cabinetry: bins minus free unconstrained parameters
    double free_unconstrained = 0;
    for (const ParamSetInfo& p : model.paramsets()) {
        if (p.constraint != Constraint::none) continue;
        for (std::size_t i = p.offset; i < p.offset + p.size; ++i)
            free_unconstrained += !is_fixed[i];
    }
    out.ndof = static_cast<double>(md.nmain) - free_unconstrained;
    out.p_value = stats::chi2_sf(out.twice_delta_nll, out.ndof);
    return out;
}

} // namespace hifit
