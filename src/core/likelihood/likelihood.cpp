// -2 ln L with its exact gradient and Hessian in one fused pass over the cells.
//
// Per cell nu = A * M with A = nominal + sum_h Delta_h(alpha_h) and M = prod_k kappa_k.
// The main term per bin is nu - n ln nu (+ ln n!), so with w = 1 - n/nu and c = n/nu^2
//   grad_i = sum_b w_b dnu_b/di
//   hess_ij = sum_b c_b dnu_b/di dnu_b/dj + sum_cells w_b d2nu_cell/didj.
// Every term is evaluated as a deviance (zero at the saturated point) plus a constant
// of the data (poisson_terms.hpp); the constants are summed once per data set.
#include <hifit/errors.hpp>
#include <hifit/histfactory/interpolation.hpp>
#include <hifit/likelihood/model.hpp>

#include "combine/main_terms.hpp"
#include "likelihood/model_data.hpp"
#include "likelihood/poisson_terms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hifit {

struct Likelihood::Scratch {
    std::vector<double> kappa, dkappa, d2kappa; // per factor slot
    std::vector<double> cell_a, cell_m;         // per cell
    std::vector<double> nu, w, c;               // per main bin
    std::vector<double> jac;                    // nmain x npars
    std::vector<double> r, g, p_minus;          // per factor of one cell
    std::vector<double> da, d2a;                // per additive term of one cell
    double constant = 0.0;  // -ln L at the saturated point (constants of the data)
    CombineScratch combine; // models built from datacards
};

namespace {

interp::Value additive_value(const AdditiveTerm& t, double alpha) {
    switch (t.code) {
    case HistosysCode::code0:
        return interp::code0_from(t.up, t.down, alpha);
    case HistosysCode::code2:
        return interp::code2_from(t.up, t.down, alpha);
    case HistosysCode::code4p:
        break;
    }
    return interp::code4p_from(t.up, t.down, alpha);
}

// Deviances of the Gaussian and Poisson constraint terms of -ln L, added to nll;
// gradient and Hessian diagonal added in -ln L units.
void constraint_terms(const ModelData& md, std::span<const double> pars,
                      const double* aux, std::span<double> grad, std::span<double> hess,
                      terms::CompensatedSum& nll) {
    const std::size_t npars = pars.size();
    for (const GaussianTerm& t : md.gaussian) {
        const double z = (aux[t.aux] - pars[t.par]) / t.sigma;
        nll.add(0.5 * z * z);
        if (!grad.empty()) grad[t.par] -= z / t.sigma;
        if (!hess.empty()) hess[t.par * npars + t.par] += 1.0 / (t.sigma * t.sigma);
    }
    for (const PoissonTerm& t : md.poisson) {
        // rate gamma tau against a: the difference with one rounding (tau up to 1e13)
        const double a = aux[t.aux], gamma = pars[t.par];
        const double rate = gamma * t.factor, d = std::fma(gamma, t.factor, -a);
        nll.add(terms::poisson_deviance(d, rate, a));
        if (!grad.empty()) grad[t.par] += a == 0.0 ? t.factor : d / gamma;
        if (!hess.empty() && a != 0.0)
            hess[t.par * npars + t.par] += a / (gamma * gamma);
    }
}

} // namespace

Likelihood::Likelihood(const Model& model, std::span<const double> data)
    : model_(model), scratch_(std::make_unique<Scratch>()) {
    const ModelData& md = model_.compiled();
    Scratch& s = *scratch_;
    s.kappa.resize(md.slots.size());
    s.dkappa.resize(md.slots.size());
    s.d2kappa.resize(md.slots.size());
    s.cell_a.resize(md.cells.size());
    s.cell_m.resize(md.cells.size());
    s.nu.resize(md.nmain);
    s.w.resize(md.nmain);
    s.c.resize(md.nmain);
    s.jac.resize(md.nmain * model_.npars());
    std::size_t max_factors = 0, max_add = 0;
    for (const Cell& cell : md.cells) {
        max_factors =
            std::max<std::size_t>(max_factors, cell.factor_end - cell.factor_begin);
        max_add = std::max<std::size_t>(max_add, cell.add_end - cell.add_begin);
    }
    s.r.resize(max_factors);
    s.g.resize(max_factors);
    s.p_minus.resize(max_factors);
    s.da.resize(max_add);
    s.d2a.resize(max_add);
    if (md.combine) s.combine.resize(*md.combine, model_.npars());
    set_data(data);
}

Likelihood::~Likelihood() = default;
Likelihood::Likelihood(Likelihood&&) noexcept = default;
Likelihood& Likelihood::operator=(Likelihood&&) noexcept = default;

void Likelihood::set_data(std::span<const double> data) {
    const ModelData& md = model_.compiled();
    if (data.size() != md.nmain + md.auxdata.size()) {
        throw InvalidArgument("data has " + std::to_string(data.size()) +
                              " entries, the model expects " +
                              std::to_string(md.nmain) + " main bins + " +
                              std::to_string(md.auxdata.size()) + " auxiliary data");
    }
    data_.assign(data.begin(), data.end());
    terms::CompensatedSum constant;
    const std::uint8_t* masked = md.combine ? md.combine->masked.data() : nullptr;
    for (std::size_t b = 0; b < md.nmain; ++b) {
        if (!masked || !masked[b]) constant.add(terms::poisson_constant(data_[b]));
    }
    for (const GaussianTerm& t : md.gaussian) {
        constant.add(terms::gaussian_constant(t.sigma));
    }
    for (const PoissonTerm& t : md.poisson) {
        constant.add(terms::poisson_constant(data_[md.nmain + t.aux]));
    }
    scratch_->constant = constant.value();
}

double Likelihood::twice_nll_saturated() const {
    return 2.0 * scratch_->constant;
}

double Likelihood::twice_deviance(std::span<const double> pars) {
    return 2.0 * deviance_terms(pars, {}, {});
}

double Likelihood::twice_nll(std::span<const double> pars) {
    return twice_nll_grad_hess(pars, {}, {});
}

double Likelihood::twice_nll_grad(std::span<const double> pars,
                                  std::span<double> grad) {
    return twice_nll_grad_hess(pars, grad, {});
}

double Likelihood::twice_nll_grad_hess(std::span<const double> pars,
                                       std::span<double> grad, std::span<double> hess) {
    return 2.0 * (deviance_terms(pars, grad, hess) + scratch_->constant);
}

double Likelihood::deviance_terms(std::span<const double> pars, std::span<double> grad,
                                  std::span<double> hess) {
    const ModelData& md = model_.compiled();
    const std::size_t npars = model_.npars();
    if (pars.size() != npars) {
        throw InvalidArgument("parameter vector has " + std::to_string(pars.size()) +
                              " entries, the model has " + std::to_string(npars));
    }
    const bool want_grad = !grad.empty() || !hess.empty();
    const bool want_hess = !hess.empty();
    Scratch& s = *scratch_;
    if (md.combine) return combine_deviance_terms(pars, grad, hess);

    // 1. Factor slots: each normsys value once per call, linear slots read theta.
    for (std::size_t i = 0; i < md.slots.size(); ++i) {
        const FactorSlot& slot = md.slots[i];
        const double x = pars[slot.par];
        interp::Value v{x, 1.0, 0.0};
        if (slot.kind == FactorSlot::poly_code4) {
            v = interp::code4_from(slot.poly, slot.ln_hi, slot.ln_lo, x);
        } else if (slot.kind == FactorSlot::exp_code1) {
            v = interp::code1_from(slot.ln_hi, slot.ln_lo, x);
        }
        s.kappa[i] = v.value;
        s.dkappa[i] = v.d1;
        s.d2kappa[i] = v.d2;
    }

    // 2. Expected rates.
    std::fill(s.nu.begin(), s.nu.end(), 0.0);
    for (std::size_t ci = 0; ci < md.cells.size(); ++ci) {
        const Cell& cell = md.cells[ci];
        double a = cell.nominal;
        for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
            const AdditiveTerm& t = md.additive[h];
            a += additive_value(t, pars[t.par]).value;
        }
        double m = 1.0;
        for (std::uint32_t f = cell.factor_begin; f < cell.factor_end; ++f) {
            m *= s.kappa[md.cell_factors[f]];
        }
        s.cell_a[ci] = a;
        s.cell_m[ci] = m;
        s.nu[cell.bin] += a * m;
    }

    // 3. Main Poisson terms; w = (nu - n) / nu from the exact difference.
    terms::CompensatedSum nll;
    for (std::size_t b = 0; b < md.nmain; ++b) {
        const double n = data_[b], nu = s.nu[b], d = nu - n;
        nll.add(terms::poisson_deviance(d, nu, n));
        s.w[b] = n == 0.0 ? 1.0 : d / nu;
        s.c[b] = n == 0.0 ? 0.0 : n / (nu * nu);
    }

    // 4. Constraint terms.
    const double* aux = data_.data() + md.nmain;
    if (want_grad) {
        std::fill(grad.begin(), grad.end(), 0.0);
    }
    if (want_hess) {
        std::fill(hess.begin(), hess.end(), 0.0);
        std::fill(s.jac.begin(), s.jac.end(), 0.0);
    }
    constraint_terms(md, pars, aux, want_grad ? grad : std::span<double>{},
                     want_hess ? hess : std::span<double>{}, nll);
    if (!want_grad) {
        return nll.value();
    }

    // 5. Derivatives of every cell.
    for (std::size_t ci = 0; ci < md.cells.size(); ++ci) {
        const Cell& cell = md.cells[ci];
        const double w = s.w[cell.bin];
        const double a = s.cell_a[ci], m = s.cell_m[ci];
        const std::uint32_t nf = cell.factor_end - cell.factor_begin;
        const std::uint32_t* fac = md.cell_factors.data() + cell.factor_begin;
        double* jac_row = want_hess ? s.jac.data() + cell.bin * npars : nullptr;

        // Products of all factors but one, exact when some factor is zero.
        int zeros = 0;
        double m_nonzero = 1.0;
        for (std::uint32_t k = 0; k < nf; ++k) {
            const double kap = s.kappa[fac[k]];
            if (kap == 0.0) {
                ++zeros;
            } else {
                m_nonzero *= kap;
            }
        }
        for (std::uint32_t k = 0; k < nf; ++k) {
            const double kap = s.kappa[fac[k]];
            s.p_minus[k] = zeros == 0                   ? m_nonzero / kap
                           : (zeros == 1 && kap == 0.0) ? m_nonzero
                                                        : 0.0;
            s.g[k] = s.dkappa[fac[k]] * s.p_minus[k]; // dM/dkappa_k * dkappa_k/dtheta
            const double d = a * s.g[k];
            const std::uint32_t p = md.slots[fac[k]].par;
            grad[p] += w * d;
            if (jac_row) jac_row[p] += d;
        }
        for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
            const AdditiveTerm& t = md.additive[h];
            const interp::Value v = additive_value(t, pars[t.par]);
            s.da[h - cell.add_begin] = v.d1;
            s.d2a[h - cell.add_begin] = v.d2;
            grad[t.par] += w * v.d1 * m;
            if (jac_row) jac_row[t.par] += v.d1 * m;
        }
        if (!want_hess || w == 0.0) continue;

        // Second derivatives of nu_cell, weighted by w. Each unordered pair of distinct
        // parameters is added once, at either (i, j) or (j, i); step 6 folds them.
        // The factors' parameters increase along the cell (p_k < p_l for k < l).
        const std::uint32_t* par = md.cell_factor_par.data() + cell.factor_begin;
        if (zeros == 0) {
            // factor-factor: A M r_k r_l (k != l), A M kappa''_k / kappa_k on the
            // diagonal.
            const double am = w * a * m;
            for (std::uint32_t k = 0; k < nf; ++k) {
                s.r[k] = s.dkappa[fac[k]] / s.kappa[fac[k]];
            }
            for (std::uint32_t k = 0; k < nf; ++k) {
                double* row = hess.data() + std::size_t{par[k]} * npars;
                row[par[k]] += am * s.d2kappa[fac[k]] / s.kappa[fac[k]];
                const double rk = am * s.r[k];
                if (rk == 0.0) continue;
                for (std::uint32_t l = k + 1; l < nf; ++l) row[par[l]] += rk * s.r[l];
            }
        } else {
            for (std::uint32_t k = 0; k < nf; ++k) {
                double* row = hess.data() + std::size_t{par[k]} * npars;
                const double kk = s.kappa[fac[k]];
                row[par[k]] += w * a * s.d2kappa[fac[k]] * s.p_minus[k];
                for (std::uint32_t l = k + 1; l < nf; ++l) {
                    const double kl = s.kappa[fac[l]];
                    double pair = 0.0; // product of all factors but k and l
                    if (zeros == 1) {
                        pair = kk == 0.0   ? m_nonzero / kl
                               : kl == 0.0 ? m_nonzero / kk
                                           : 0.0;
                    } else if (zeros == 2 && kk == 0.0 && kl == 0.0) {
                        pair = m_nonzero;
                    }
                    row[par[l]] += w * a * s.dkappa[fac[k]] * s.dkappa[fac[l]] * pair;
                }
            }
        }
        // additive-factor cross terms and additive diagonal terms
        for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
            const std::uint32_t ph = md.additive[h].par;
            const double dah = w * s.da[h - cell.add_begin];
            double* row = hess.data() + std::size_t{ph} * npars;
            if (dah != 0.0) {
                for (std::uint32_t k = 0; k < nf; ++k) row[par[k]] += dah * s.g[k];
                // d2/dalpha2 of A(alpha) M(alpha) holds 2 A' M': the diagonal twice.
                const std::int32_t shared = md.additive[h].shared_factor;
                if (shared >= 0) row[ph] += dah * s.g[shared];
            }
            row[ph] += w * s.d2a[h - cell.add_begin] * m;
        }
    }
    for (std::size_t i = 0; i < npars; ++i) grad[i] *= 2.0;
    if (!want_hess) {
        return nll.value();
    }

    // 6. Gauss-Newton part sum_b c_b J_b J_b^T (upper triangle), then fold the
    // once-added pairs into a symmetric matrix and scale to -2 ln L.
    for (std::size_t b = 0; b < md.nmain; ++b) {
        const double cb = s.c[b];
        if (cb == 0.0) continue;
        const double* jrow = s.jac.data() + b * npars;
        for (std::size_t i = 0; i < npars; ++i) {
            const double ji = cb * jrow[i];
            if (ji == 0.0) continue;
            double* hrow = hess.data() + i * npars;
            for (std::size_t j = i; j < npars; ++j) hrow[j] += ji * jrow[j];
        }
    }
    for (std::size_t i = 0; i < npars; ++i) {
        hess[i * npars + i] *= 2.0;
        for (std::size_t j = i + 1; j < npars; ++j) {
            const double v = 2.0 * (hess[i * npars + j] + hess[j * npars + i]);
            hess[i * npars + j] = v;
            hess[j * npars + i] = v;
        }
    }
    return nll.value();
}

double Likelihood::combine_deviance_terms(std::span<const double> pars,
                                          std::span<double> grad,
                                          std::span<double> hess) {
    const ModelData& md = model_.compiled();
    const std::size_t npars = pars.size();
    Scratch& s = *scratch_;
    std::vector<double> grad_buffer;
    if (grad.empty() && !hess.empty()) { // the Hessian pass needs a gradient buffer
        grad_buffer.resize(npars);
        grad = grad_buffer;
    }
    std::fill(grad.begin(), grad.end(), 0.0);
    std::fill(hess.begin(), hess.end(), 0.0);
    terms::CompensatedSum nll;
    constraint_terms(md, pars, data_.data() + md.nmain, grad, hess, nll);
    nll.add(combine_main_terms(*md.combine, pars.data(), npars, data_.data(), s.combine,
                               s.nu, s.w, s.c, s.cell_a,
                               grad.empty() ? nullptr : grad.data(),
                               hess.empty() ? nullptr : hess.data(), s.jac));
    for (double& g : grad) g *= 2.0;
    for (double& h : hess) h *= 2.0;
    return nll.value();
}

void Likelihood::cell_rates(std::span<const double> pars, std::vector<double>& out) {
    twice_nll(pars); // fills A and M of every cell
    const Scratch& s = *scratch_;
    out.resize(s.cell_a.size());
    const bool combine = model_.compiled().combine != nullptr; // cell_a holds the rates
    for (std::size_t c = 0; c < out.size(); ++c)
        out[c] = combine ? s.cell_a[c] : s.cell_a[c] * s.cell_m[c];
}

void Likelihood::expected_data(std::span<const double> pars, std::span<double> out,
                               bool include_auxdata) {
    const ModelData& md = model_.compiled();
    const std::size_t need = md.nmain + (include_auxdata ? md.auxdata.size() : 0);
    if (out.size() != need) {
        throw InvalidArgument("output buffer has " + std::to_string(out.size()) +
                              " entries, expected " + std::to_string(need));
    }
    twice_nll(pars); // fills the rates
    std::copy(scratch_->nu.begin(), scratch_->nu.end(), out.begin());
    if (!include_auxdata) return;
    double* aux = out.data() + md.nmain;
    for (const GaussianTerm& t : md.gaussian) aux[t.aux] = pars[t.par];
    for (const PoissonTerm& t : md.poisson) aux[t.aux] = pars[t.par] * t.factor;
}

} // namespace hifit
