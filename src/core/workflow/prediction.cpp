#include <hifit/errors.hpp>
#include <hifit/workflow/prediction.hpp>

#include "histfactory/main_terms.hpp"
#include "likelihood/model_data.hpp"

#include <cmath>

namespace hifit {

namespace {

// Rates of every cell at `pars`, accumulated per (sample, bin).
void by_sample(Likelihood& lh, const ModelData& md, std::span<const double> pars,
               std::vector<double>& cell_rates, std::vector<double>& out) {
    lh.cell_rates(pars, cell_rates);
    std::fill(out.begin(), out.end(), 0.0);
    for (std::size_t c = 0; c < md.cells.size(); ++c) {
        out[md.cells[c].sample * md.nmain + md.cells[c].bin] += cell_rates[c];
    }
}

// Per-sample yields plus the sum over samples, each per bin then per channel.
std::vector<double> summary(const ModelData& md, const std::vector<double>& yields) {
    const std::size_t ns = md.samples.size(), nb = md.nmain, nc = md.channels.size();
    const std::size_t width = nb + nc;
    std::vector<double> out((ns + 1) * width, 0.0);
    for (std::size_t s = 0; s < ns; ++s) {
        for (std::size_t b = 0; b < nb; ++b) {
            out[s * width + b] = yields[s * nb + b];
            out[ns * width + b] += yields[s * nb + b];
        }
    }
    for (std::size_t s = 0; s <= ns; ++s) {
        for (std::size_t c = 0; c < nc; ++c) {
            double sum = 0.0;
            for (std::size_t b = 0; b < md.channel_nbins[c]; ++b) {
                sum += out[s * width + md.channel_offset[c] + b];
            }
            out[s * width + nb + c] = sum;
        }
    }
    return out;
}

} // namespace

std::vector<double> expected_by_sample(const Model& model,
                                       std::span<const double> pars) {
    const ModelData& md = model.compiled();
    Likelihood lh(model, std::vector<double>(md.nmain + md.auxdata.size(), 0.0));
    std::vector<double> rates, out(md.samples.size() * md.nmain);
    by_sample(lh, md, pars, rates, out);
    return out;
}

std::vector<double> nominal_by_sample(const Model& model) {
    const ModelData& md = model.compiled();
    const auto* hf = dynamic_cast<const HistFactoryTerms*>(md.main.get());
    if (hf == nullptr) {
        throw InvalidArgument(std::string("nominal rates are defined for HistFactory "
                                          "models, not for a ") +
                              to_string(model.kind()) + " model");
    }
    std::vector<double> out(md.samples.size() * md.nmain, 0.0);
    for (std::size_t c = 0; c < md.cells.size(); ++c) {
        out[md.cells[c].sample * md.nmain + md.cells[c].bin] = hf->cells[c].nominal;
    }
    return out;
}

Prediction predict(const Model& model, std::span<const double> pars,
                   std::span<const double> uncertainties,
                   std::span<const double> correlation) {
    const ModelData& md = model.compiled();
    const std::size_t n = model.npars();
    if (pars.size() != n || uncertainties.size() != n ||
        (!correlation.empty() && correlation.size() != n * n)) {
        throw InvalidArgument("prediction needs " + std::to_string(n) +
                              " parameters and uncertainties and an n x n correlation");
    }
    Prediction out;
    out.nsamples = md.samples.size();
    out.nbins = md.nmain;
    out.nchannels = md.channels.size();
    Likelihood lh(model, std::vector<double>(md.nmain + md.auxdata.size(), 0.0));
    std::vector<double> rates, yields(out.nsamples * out.nbins);
    by_sample(lh, md, pars, rates, yields);
    out.yields = yields;

    // v_i = (y(theta + sigma_i e_i) - y(theta - sigma_i e_i)) / 2 for every summary
    // entry
    const std::size_t width = out.nbins + out.nchannels, k = (out.nsamples + 1) * width;
    std::vector<std::size_t> shifted;
    std::vector<std::vector<double>> v;
    std::vector<double> x(pars.begin(), pars.end());
    for (std::size_t i = 0; i < n; ++i) {
        if (uncertainties[i] == 0.0) continue;
        x[i] = pars[i] + uncertainties[i];
        by_sample(lh, md, x, rates, yields);
        std::vector<double> up = summary(md, yields);
        x[i] = pars[i] - uncertainties[i];
        by_sample(lh, md, x, rates, yields);
        const std::vector<double> down = summary(md, yields);
        x[i] = pars[i];
        for (std::size_t j = 0; j < k; ++j) up[j] = 0.5 * (up[j] - down[j]);
        shifted.push_back(i);
        v.push_back(std::move(up));
    }
    // Var = sum_ij v_i rho_ij v_j, elementwise.
    std::vector<double> var(k, 0.0);
    for (std::size_t a = 0; a < shifted.size(); ++a) {
        for (std::size_t b = 0; b < shifted.size(); ++b) {
            const double rho = correlation.empty()
                                   ? (a == b ? 1.0 : 0.0)
                                   : correlation[shifted[a] * n + shifted[b]];
            if (rho == 0.0) continue;
            for (std::size_t j = 0; j < k; ++j) var[j] += v[a][j] * rho * v[b][j];
        }
    }
    out.stdev_bins.resize((out.nsamples + 1) * out.nbins);
    out.stdev_channels.resize((out.nsamples + 1) * out.nchannels);
    for (std::size_t s = 0; s <= out.nsamples; ++s) {
        for (std::size_t b = 0; b < out.nbins; ++b) {
            out.stdev_bins[s * out.nbins + b] = std::sqrt(var[s * width + b]);
        }
        for (std::size_t c = 0; c < out.nchannels; ++c) {
            out.stdev_channels[s * out.nchannels + c] =
                std::sqrt(var[s * width + out.nbins + c]);
        }
    }
    return out;
}

} // namespace hifit
