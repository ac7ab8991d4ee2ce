// Combine's FitDiagnostics: fits and the yields of every channel and process. Combine
// resamples the covariance (200 toys) for the uncertainties; here they are
// propagated linearly, which is what the resampling estimates.
#include <hifit/errors.hpp>
#include <hifit/workflow/fit_diagnostics.hpp>
#include <hifit/workflow/prediction.hpp>

#include "fit/setup.hpp"
#include "infer/messages.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cmath>

namespace hifit {

namespace {

// Everything propagated: per-sample bins, total / signal / background bins, norms.
std::vector<double> outputs(const ModelData& md, const std::vector<double>& by_sample,
                            const std::vector<bool>& signal) {
    const std::size_t ns = md.samples.size(), nb = md.nmain, nc = md.channels.size();
    std::vector<double> out(by_sample);
    out.resize(ns * nb + 3 * nb + ns * nc + 3 * nc, 0.0);
    double* total = out.data() + ns * nb;
    double* sig = total + nb;
    double* bkg = sig + nb;
    double* norms = bkg + nb;
    double* sums = norms + ns * nc; // per channel: total, signal, background
    for (std::size_t s = 0; s < ns; ++s) {
        for (std::size_t b = 0; b < nb; ++b) {
            const double y = by_sample[s * nb + b];
            total[b] += y;
            (signal[s] ? sig : bkg)[b] += y;
        }
        for (std::size_t c = 0; c < nc; ++c)
            for (std::size_t b = 0; b < md.channel_nbins[c]; ++b)
                norms[s * nc + c] += by_sample[s * nb + md.channel_offset[c] + b];
    }
    for (std::size_t c = 0; c < nc; ++c)
        for (std::size_t b = 0; b < md.channel_nbins[c]; ++b) {
            const std::size_t i = md.channel_offset[c] + b;
            sums[c] += total[i], sums[nc + c] += sig[i], sums[2 * nc + c] += bkg[i];
        }
    return out;
}

// Yields per (sample, bin) at `pars`, each bin scaled to the expected rate of the
// model: terms that act on a bin's total (Combine's Barlow-Beeston-lite) are shared
// among its processes in proportion, as Combine's CMSHistErrorPropagator does.
std::vector<double> yields_at(const Model& model, std::span<const double> pars) {
    std::vector<double> y = expected_by_sample(model, pars);
    const std::size_t nb = model.nmain(), ns = y.size() / std::max<std::size_t>(nb, 1);
    Likelihood lh(model, std::vector<double>(nb + model.naux(), 0.0));
    std::vector<double> nu(nb);
    lh.expected_data(pars, nu, false);
    for (std::size_t b = 0; b < nb; ++b) {
        double sum = 0.0;
        for (std::size_t s = 0; s < ns; ++s) sum += y[s * nb + b];
        if (!(sum > 0.0)) continue;
        const double scale = nu[b] / sum;
        for (std::size_t s = 0; s < ns; ++s) y[s * nb + b] *= scale;
    }
    return y;
}

} // namespace

YieldSet propagate_yields(const Model& model, std::span<const double> pars,
                          std::span<const double> covariance,
                          const std::vector<bool>& signal_samples) {
    const ModelData& md = model.compiled();
    const std::size_t n = model.npars(), ns = md.samples.size(), nb = md.nmain,
                      nc = md.channels.size();
    if (pars.size() != n || covariance.size() != n * n || signal_samples.size() != ns)
        throw InvalidArgument(
            "yields need every parameter, an npars x npars covariance "
            "and a signal flag per sample");
    const std::vector<double> centre =
        outputs(md, yields_at(model, pars), signal_samples);
    const std::size_t k = centre.size();
    // derivatives g_i = (f(theta + sigma_i) - f(theta - sigma_i)) / (2 sigma_i)
    std::vector<std::size_t> varied;
    std::vector<std::vector<double>> g;
    std::vector<double> x(pars.begin(), pars.end());
    for (std::size_t i = 0; i < n; ++i) {
        const double var = covariance[i * n + i];
        if (!(var > 0)) continue;
        const double sigma = std::sqrt(var);
        x[i] = pars[i] + sigma;
        std::vector<double> up = outputs(md, yields_at(model, x), signal_samples);
        x[i] = pars[i] - sigma;
        const std::vector<double> down =
            outputs(md, yields_at(model, x), signal_samples);
        x[i] = pars[i];
        for (std::size_t j = 0; j < k; ++j) up[j] = (up[j] - down[j]) / (2.0 * sigma);
        varied.push_back(i);
        g.push_back(std::move(up));
    }
    // w_a = sum_b C_ab g_b; Var_j = sum_a g_a[j] w_a[j]
    const std::size_t m = varied.size();
    std::vector<std::vector<double>> w(m, std::vector<double>(k, 0.0));
    for (std::size_t a = 0; a < m; ++a)
        for (std::size_t b = 0; b < m; ++b) {
            const double c = covariance[varied[a] * n + varied[b]];
            if (c == 0.0) continue;
            for (std::size_t j = 0; j < k; ++j) w[a][j] += c * g[b][j];
        }
    std::vector<double> var(k, 0.0);
    for (std::size_t a = 0; a < m; ++a)
        for (std::size_t j = 0; j < k; ++j) var[j] += g[a][j] * w[a][j];
    YieldSet out;
    auto take = [&](std::size_t offset, std::size_t count, std::vector<double>& v,
                    std::vector<double>& e) {
        v.assign(centre.begin() + static_cast<long>(offset),
                 centre.begin() + static_cast<long>(offset + count));
        e.resize(count);
        for (std::size_t j = 0; j < count; ++j)
            e[j] = std::sqrt(std::max(var[offset + j], 0.0));
    };
    take(0, ns * nb, out.yields, out.errors);
    take(ns * nb, nb, out.total, out.total_err);
    take(ns * nb + nb, nb, out.signal, out.signal_err);
    take(ns * nb + 2 * nb, nb, out.background, out.background_err);
    take(ns * nb + 3 * nb, ns * nc, out.norms, out.norm_errors);
    take(ns * nb + 3 * nb + ns * nc, 3 * nc, out.channel_sums, out.channel_sum_errors);
    for (std::size_t c = 0; c < nc; ++c) {
        const std::size_t off = ns * nb + md.channel_offset[c],
                          nbc = md.channel_nbins[c];
        for (std::size_t i = 0; i < nbc; ++i)
            for (std::size_t j = 0; j < nbc; ++j) {
                double cov = 0.0;
                for (std::size_t a = 0; a < m; ++a)
                    cov += g[a][off + i] * w[a][off + j];
                out.total_covariance.push_back(cov);
            }
    }
    return out;
}

FitDiagnosticsResult fit_diagnostics(const Model& model, std::span<const double> data,
                                     const std::vector<bool>& signal_samples,
                                     const FitOptions& base, bool run_minos,
                                     double minos_delta) {
    if (!model.poi_index())
        throw InvalidArgument(
            "FitDiagnostics needs a model with a parameter of interest");
    const ModelData& md = model.compiled();
    const std::size_t poi = *model.poi_index(), n = model.npars();
    FitOptions options = resolved(model, base);
    options.compute_covariance = true;
    FitDiagnosticsResult out;
    Likelihood lh(model, data);
    out.fit_s = robust_fit(lh, options);
    FitOptions b_only = options;
    b_only.init[poi] = 0.0;
    b_only.fixed[poi] = true;
    out.fit_b = robust_fit(lh, b_only, {out.fit_s.bestfit});
    out.message = fit_failures({{"fit_s", &out.fit_s}, {"fit_b", &out.fit_b}});
    if (run_minos && out.fit_s.valid && !options.fixed[poi]) {
        out.poi_interval = minos(model, data, out.fit_s, poi, minos_delta, options);
        if (out.poi_interval.improved_best) out.fit_s = out.poi_interval.best;
        if (!out.poi_interval.valid)
            append_message(out.message,
                           "MINOS on the POI: " + out.poi_interval.message);
    }
    // pre-fit point: the initial values; a gmN at the mean of its Gamma posterior
    out.prefit = options.init;
    out.prefit_err.assign(n, 0.0);
    const double* aux = data.data() + model.nmain();
    for (const GaussianTerm& t : md.gaussian) out.prefit_err[t.par] = t.sigma;
    for (const PoissonTerm& t : md.poisson) {
        if (model.kind() == ModelKind::combine)
            out.prefit[t.par] = (aux[t.aux] + 1.0) / t.factor;
        out.prefit_err[t.par] = std::sqrt(aux[t.aux] + 1.0) / t.factor;
    }
    std::vector<double> prefit_cov(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        if (options.fixed[i]) out.prefit_err[i] = 0.0;
        prefit_cov[i * n + i] = out.prefit_err[i] * out.prefit_err[i];
    }
    out.yields_prefit = propagate_yields(model, out.prefit, prefit_cov, signal_samples);
    auto covariance = [&](const FitResult& f) {
        return f.covariance.size() == n * n ? f.covariance
                                            : std::vector<double>(n * n, 0.0);
    };
    out.yields_fit_b = propagate_yields(model, out.fit_b.bestfit, covariance(out.fit_b),
                                        signal_samples);
    out.yields_fit_s = propagate_yields(model, out.fit_s.bestfit, covariance(out.fit_s),
                                        signal_samples);
    const std::size_t nc = md.channels.size();
    out.present.assign(md.samples.size() * nc, false);
    for (const CellName& cell : md.cells)
        for (std::size_t c = 0; c < nc; ++c)
            if (cell.bin >= md.channel_offset[c] &&
                cell.bin < md.channel_offset[c] + md.channel_nbins[c])
                out.present[cell.sample * nc + c] = true;
    out.aux_of.assign(n, -1);
    for (const GaussianTerm& t : md.gaussian) out.aux_of[t.par] = t.aux;
    for (const PoissonTerm& t : md.poisson) out.aux_of[t.par] = t.aux;
    out.valid = out.message.empty();
    return out;
}

} // namespace hifit
