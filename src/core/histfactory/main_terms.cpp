// HistFactory's main terms with their exact gradient and Hessian in one fused pass
// over the cells.
//
// Per cell nu = A * M with A = nominal + sum_h Delta_h(alpha_h) and M = prod_k kappa_k.
// The main term per bin is nu - n ln nu (+ ln n!), so with w = 1 - n/nu and c = n/nu^2
//   grad_i = sum_b w_b dnu_b/di
//   hess_ij = sum_b c_b dnu_b/di dnu_b/dj + sum_cells w_b d2nu_cell/didj.
#include <hifit/histfactory/interpolation.hpp>

#include "histfactory/main_terms.hpp"

#include <algorithm>

namespace hifit {

namespace {

struct HistFactoryScratch final : MainScratch {
    std::vector<double> kappa, dkappa, d2kappa; // per factor slot
    std::vector<double> cell_a, cell_m;         // per cell
    std::vector<double> w, c;                   // per main bin
    std::vector<double> jac;                    // nmain x npars
    std::vector<double> r, g, p_minus;          // per factor of one cell
    std::vector<double> da, d2a;                // per additive term
};

inline interp::Value additive_value(const AdditiveTerm& t, double alpha) {
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

} // namespace

std::unique_ptr<MainScratch> HistFactoryTerms::make_scratch(std::size_t nmain,
                                                            std::size_t npars) const {
    auto s = std::make_unique<HistFactoryScratch>();
    s->kappa.resize(slots.size());
    s->dkappa.resize(slots.size());
    s->d2kappa.resize(slots.size());
    s->cell_a.resize(cells.size());
    s->cell_m.resize(cells.size());
    s->nu.resize(nmain);
    s->w.resize(nmain);
    s->c.resize(nmain);
    // jac (nmain x npars) only with the first Hessian: models fitted in blocks
    // (fit/block_hessian.hpp) never hold it
    (void)npars;
    std::size_t max_factors = 0;
    for (const HistFactoryCell& cell : cells) {
        max_factors =
            std::max<std::size_t>(max_factors, cell.factor_end - cell.factor_begin);
    }
    s->r.resize(max_factors);
    s->g.resize(max_factors);
    s->p_minus.resize(max_factors);
    s->da.resize(additive.size());
    s->d2a.resize(additive.size());
    return s;
}

void HistFactoryTerms::before_constraints(Evaluation& e, MainScratch& scratch) const {
    auto& s = static_cast<HistFactoryScratch&>(scratch);
    const std::span<const double> pars = e.pars;

    // 1. Factor slots: each normsys value once per call, linear slots read theta;
    // their derivatives only when the gradient is wanted (the interpolation is
    // inline, so a value-only call skips them).
    const bool derivatives = !e.grad.empty();
    auto factor = [&](const FactorSlot& slot) {
        const double x = pars[slot.par];
        if (slot.kind == FactorSlot::poly_code4)
            return interp::code4_from(slot.poly, slot.ln_hi, slot.ln_lo, x);
        if (slot.kind == FactorSlot::exp_code1)
            return interp::code1_from(slot.ln_hi, slot.ln_lo, x);
        return interp::Value{x, 1.0, 0.0};
    };
    if (derivatives) {
        for (std::size_t i = 0; i < slots.size(); ++i) {
            const interp::Value v = factor(slots[i]);
            s.kappa[i] = v.value;
            s.dkappa[i] = v.d1;
            s.d2kappa[i] = v.d2;
        }
    } else {
        for (std::size_t i = 0; i < slots.size(); ++i)
            s.kappa[i] = factor(slots[i]).value;
    }

    // 2. Expected rates.
    std::fill(s.nu.begin(), s.nu.end(), 0.0);
    for (std::size_t ci = 0; ci < cells.size(); ++ci) {
        const HistFactoryCell& cell = cells[ci];
        double a = cell.nominal;
        if (derivatives) {
            for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
                const AdditiveTerm& t = additive[h];
                const interp::Value v = additive_value(t, pars[t.par]);
                a += v.value;
                s.da[h] = v.d1;
                s.d2a[h] = v.d2;
            }
        } else {
            for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
                const AdditiveTerm& t = additive[h];
                a += additive_value(t, pars[t.par]).value;
            }
        }
        double m = 1.0;
        for (std::uint32_t f = cell.factor_begin; f < cell.factor_end; ++f) {
            m *= s.kappa[cell_factors[f]];
        }
        s.cell_a[ci] = a;
        s.cell_m[ci] = m;
        s.nu[cell.bin] += a * m;
    }

    // 3. Main Poisson terms; w = (nu - n) / nu from the exact difference.
    for (std::size_t b = 0; b < s.nu.size(); ++b) {
        const double n = e.data[b], nu = s.nu[b], d = nu - n;
        e.nll.add(terms::poisson_deviance(d, nu, n));
        s.w[b] = n == 0.0 ? 1.0 : d / nu;
        s.c[b] = n == 0.0 ? 0.0 : n / (nu * nu);
    }
}

void HistFactoryTerms::after_constraints(Evaluation& e, MainScratch& scratch) const {
    if (e.grad.empty()) return;
    auto& s = static_cast<HistFactoryScratch&>(scratch);
    const std::span<const double> pars = e.pars;
    const std::span<double> grad = e.grad, hess = e.hess;
    const std::size_t npars = pars.size(), nmain = s.nu.size();
    const bool want_hess = !hess.empty();
    if (want_hess) s.jac.assign(nmain * npars, 0.0);

    // 4. Derivatives of every cell.
    for (std::size_t ci = 0; ci < cells.size(); ++ci) {
        const HistFactoryCell& cell = cells[ci];
        const double w = s.w[cell.bin];
        const double a = s.cell_a[ci], m = s.cell_m[ci];
        const std::uint32_t nf = cell.factor_end - cell.factor_begin;
        const std::uint32_t* fac = cell_factors.data() + cell.factor_begin;
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
            const std::uint32_t p = slots[fac[k]].par;
            grad[p] += w * d;
            if (jac_row) jac_row[p] += d;
        }
        for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
            const std::uint32_t p = additive[h].par;
            grad[p] += w * s.da[h] * m;
            if (jac_row) jac_row[p] += s.da[h] * m;
        }
        if (!want_hess || w == 0.0 || e.fisher) continue;

        // Second derivatives of nu_cell, weighted by w. Each unordered pair of distinct
        // parameters is added once, at either (i, j) or (j, i); step 5 folds them.
        // The factors' parameters increase along the cell (p_k < p_l for k < l).
        const std::uint32_t* par = cell_factor_par.data() + cell.factor_begin;
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
            const std::uint32_t ph = additive[h].par;
            const double dah = w * s.da[h];
            double* row = hess.data() + std::size_t{ph} * npars;
            if (dah != 0.0) {
                for (std::uint32_t k = 0; k < nf; ++k) row[par[k]] += dah * s.g[k];
                // d2/dalpha2 of A(alpha) M(alpha) holds 2 A' M': the diagonal twice.
                const std::int32_t shared = additive[h].shared_factor;
                if (shared >= 0) row[ph] += dah * s.g[shared];
            }
            row[ph] += w * s.d2a[h] * m;
        }
    }
    if (!want_hess) return;

    // 5. Gauss-Newton part sum_b c_b J_b J_b^T (upper triangle), then fold the
    // once-added pairs into a symmetric matrix.
    for (std::size_t b = 0; b < nmain; ++b) {
        const double cb = !e.fisher ? s.c[b] : s.nu[b] > 0.0 ? 1.0 / s.nu[b] : 0.0;
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
        for (std::size_t j = i + 1; j < npars; ++j) {
            const double v = hess[i * npars + j] + hess[j * npars + i];
            hess[i * npars + j] = v;
            hess[j * npars + i] = v;
        }
    }
}

bool HistFactoryTerms::fisher_hessian(std::size_t nmain, std::size_t npars) const {
    // The exact Hessian adds, per cell, every pair of its factors and every
    // (additive, factor) pair; the Fisher information only the outer products of the
    // bins' Jacobian rows. Small models keep exact steps throughout: there the saving
    // is nil, and their path, and so which of several minima a fit reaches, stays
    // that of a Newton minimizer on the exact Hessian (pyhf's, with Minuit).
    double second_order = 0.0;
    for (const HistFactoryCell& cell : cells) {
        const double nf = cell.factor_end - cell.factor_begin;
        const double na = cell.add_end - cell.add_begin;
        second_order += 0.5 * nf * nf + na * nf;
    }
    const double gauss_newton = 0.5 * static_cast<double>(nmain) *
                                static_cast<double>(npars) * static_cast<double>(npars);
    return second_order > kFisherCostRatio * gauss_newton;
}

void HistFactoryTerms::cell_rates(const MainScratch& scratch,
                                  std::vector<double>& out) const {
    const auto& s = static_cast<const HistFactoryScratch&>(scratch);
    out.resize(s.cell_a.size());
    for (std::size_t c = 0; c < out.size(); ++c) out[c] = s.cell_a[c] * s.cell_m[c];
}

} // namespace hifit
