// Main terms of Combine's binned model with exact gradient and Hessian.
//
// Per process N (normalisation) and T (template) carry their own local derivatives;
// nu_b = sum_p N_p T_pb + stat terms. With w_b = 1 - n_b/nu_b and c_b = n_b/nu_b^2,
//   d(-ln L)/di   = sum_b w_b dnu_b/di
//   d2(-ln L)/didj = sum_b c_b dnu_b/di dnu_b/dj + sum_b w_b d2nu_b/didj
// and the w-weighted second derivatives are summed per process, not per bin.
//
// A bin without events and one stat term has its minimum over that term's theta at the
// 1e-9 floor whenever e^2 > S (Combine's analytic Barlow-Beeston solution lands there
// too). That kink would stall a Newton minimizer, so such terms are profiled here in
// closed form, f(S, Q) = min_theta max(S + theta sqrt(Q), 0) + theta^2 / 2, and their
// own parameter no longer acts on the bin.
#include "combine/main_terms.hpp"
#include "likelihood/poisson_terms.hpp"

#include <algorithm>
#include <cmath>

namespace hifit {

namespace {

constexpr double floor_value = 1e-9;

struct Value {
    double v, d1, d2;
};

// Combine's smooth step (CMSHistFunc / FastVerticalInterpHistPdf2): odd quintic in
// |x| < q, sign(x) outside.
Value smooth_step(double x, double q) {
    if (x >= q) return {1.0, 0.0, 0.0};
    if (x <= -q) return {-1.0, 0.0, 0.0};
    const double u = x / q, u2 = u * u;
    return {u * (3.0 * u2 * u2 - 10.0 * u2 + 15.0) / 8.0,
            15.0 / (8.0 * q) * (u2 - 1.0) * (u2 - 1.0), 7.5 / (q * q) * (u2 * u - u)};
}

// Exponent theta * L(theta) of an (asymmetric) log-normal factor; L blends ln kappa_hi
// and -ln kappa_lo with a quintic in |theta| < 0.5 (Combine's logKappaForX).
Value log_normal_exponent(double th, double ln_hi, double ln_lo) {
    if (th >= 0.5) return {th * ln_hi, ln_hi, 0.0};
    if (th <= -0.5) return {-th * ln_lo, -ln_lo, 0.0};
    const double avg = 0.5 * (ln_hi - ln_lo), half_sum = 0.5 * (ln_hi + ln_lo);
    const double x = 2.0 * th, x2 = x * x;
    const double h = x * (3.0 * x2 * x2 - 10.0 * x2 + 15.0) / 8.0;
    const double hp = (15.0 * x2 * x2 - 30.0 * x2 + 15.0) / 8.0;
    const double hpp = (60.0 * x2 * x - 60.0 * x) / 8.0;
    const double l = avg + half_sum * h, lp = 2.0 * half_sum * hp,
                 lpp = 4.0 * half_sum * hpp;
    return {th * l, l + th * lp, 2.0 * lp + th * lpp};
}

Value product_factor(const CombineFactor& f, double th) {
    if (f.kind == CombineFactor::linear) return {f.coeff * th, f.coeff, 0.0};
    const double e = f.exponent;
    return {f.coeff * std::pow(th, e), f.coeff * e * std::pow(th, e - 1.0),
            f.coeff * e * (e - 1.0) * std::pow(th, e - 2.0)};
}

// Normalisation N of one process with its local gradient and Hessian.
double normalisation(const CombineTerms& cd, const CombineProcess& pr,
                     const double* pars, CombineScratch& s, bool want_grad,
                     bool want_hess) {
    const std::size_t np = pr.norm_pars.size();
    double* a = s.a.data();
    double* bd = s.bdiag.data();
    std::fill(a, a + np, 0.0);
    std::fill(bd, bd + np, 0.0);
    double exponent = 0.0;
    for (std::uint32_t i = pr.factor_begin; i < pr.factor_end; ++i) {
        const CombineFactor& f = cd.factors[i];
        if (f.kind != CombineFactor::log_normal) continue;
        const Value phi = log_normal_exponent(pars[f.par], f.ln_hi, f.ln_lo);
        exponent += phi.v;
        a[f.local] += phi.d1;
        bd[f.local] += phi.d2;
    }
    double n = pr.n0 * std::exp(exponent);
    double* g = s.gn.data() + pr.gn_offset;
    double* h = s.hn.data() + pr.hn_offset;
    if (want_grad)
        for (std::size_t k = 0; k < np; ++k) g[k] = n * a[k];
    if (want_hess) {
        for (std::size_t k = 0; k < np; ++k) {
            for (std::size_t l = 0; l < np; ++l) h[k * np + l] = n * a[k] * a[l];
            h[k * np + k] += n * bd[k];
        }
    }
    // Product rule for the factors that may vanish (POIs, rateParams, gmN).
    for (std::uint32_t i = pr.factor_begin; i < pr.factor_end; ++i) {
        const CombineFactor& f = cd.factors[i];
        if (f.kind == CombineFactor::log_normal) continue;
        const Value v = product_factor(f, pars[f.par]);
        const std::size_t k = f.local;
        if (want_hess) {
            for (std::size_t r = 0; r < np; ++r)
                for (std::size_t c = 0; c < np; ++c) h[r * np + c] *= v.v;
            for (std::size_t r = 0; r < np; ++r) {
                h[r * np + k] += v.d1 * g[r];
                h[k * np + r] += v.d1 * g[r];
            }
            h[k * np + k] += n * v.d2;
        }
        if (want_grad) {
            for (std::size_t r = 0; r < np; ++r) g[r] *= v.v;
            g[k] += n * v.d1;
        }
        n *= v.v;
    }
    return n;
}

// Morphed template of one process: additive (shape) or on the log of the contents
// (shapeN, renormalised to the nominal sum); floored at 1e-9.
void morphed_template(const CombineTerms& cd, const CombineProcess& pr,
                      const double* pars, CombineScratch& s, bool want_grad,
                      bool want_hess) {
    const std::size_t nb = pr.nbins, ns = pr.shape_pars.size();
    double* t = s.t.data() + pr.cell_offset;
    double* gt = s.gt.data() + pr.gt_offset;
    double* ht = s.ht.data() + pr.ht_offset;
    const double* t0 = cd.templates.data() + pr.template_offset;
    std::copy(t0, t0 + nb, t);
    const bool derivs = want_grad && ns > 0;
    if (derivs) std::fill(gt, gt + nb * ns, 0.0);
    const std::size_t ht_row = pr.log_morph ? ns * ns : ns;
    if (want_hess && ns > 0) std::fill(ht, ht + nb * ht_row, 0.0);
    // With the log morph, gt/ht first hold dF/dtheta and d2F/dtheta2 of the exponent.
    for (std::uint32_t m = pr.morph_begin; m < pr.morph_end; ++m) {
        const CombineMorph& mo = cd.morphs[m];
        const double x = mo.scale * pars[mo.par];
        const Value sm = smooth_step(x, pr.q);
        const double* sum = cd.deltas.data() + mo.offset;
        const double* diff = sum + nb;
        for (std::size_t b = 0; b < nb; ++b) {
            t[b] += 0.5 * x * (diff[b] + sum[b] * sm.v);
            if (!derivs) continue;
            gt[b * ns + mo.local] =
                mo.scale * 0.5 * (diff[b] + sum[b] * (sm.v + x * sm.d1));
            if (want_hess) {
                const std::size_t at =
                    pr.log_morph ? mo.local * ns + mo.local : mo.local;
                ht[b * ht_row + at] =
                    mo.scale * mo.scale * 0.5 * sum[b] * (2.0 * sm.d1 + x * sm.d2);
            }
        }
    }
    if (pr.log_morph) {
        // u_b = exp(F_b), T_b = sum0 u_b / U with U = sum_b u_b.
        double u_sum = 0.0;
        for (std::size_t b = 0; b < nb; ++b) u_sum += (t[b] = std::exp(t[b]));
        double* du = s.du.data();
        double* d2u = s.d2u.data();
        if (derivs) {
            std::fill(du, du + ns, 0.0);
            if (want_hess) std::fill(d2u, d2u + ns * ns, 0.0);
            for (std::size_t b = 0; b < nb; ++b) {
                const double* fp = gt + b * ns;
                for (std::size_t m = 0; m < ns; ++m) {
                    du[m] += t[b] * fp[m];
                    if (!want_hess) continue;
                    for (std::size_t k = 0; k < ns; ++k)
                        d2u[m * ns + k] += t[b] * fp[m] * fp[k];
                    d2u[m * ns + m] += t[b] * ht[b * ht_row + m * ns + m];
                }
            }
        }
        const double scale = pr.sum0 / u_sum;
        for (std::size_t b = 0; b < nb; ++b) {
            t[b] *= scale;
            if (!derivs) continue;
            double* fp = gt + b * ns; // becomes dlnT = F' - U'/U
            for (std::size_t m = 0; m < ns; ++m) fp[m] -= du[m] / u_sum;
            if (want_hess) {
                double* hb = ht + b * ht_row;
                for (std::size_t m = 0; m < ns; ++m) {
                    const double fpp = hb[m * ns + m];
                    for (std::size_t k = 0; k < ns; ++k) {
                        const double d2ln = (m == k ? fpp : 0.0) -
                                            d2u[m * ns + k] / u_sum +
                                            du[m] * du[k] / (u_sum * u_sum);
                        hb[m * ns + k] = t[b] * (fp[m] * fp[k] + d2ln);
                    }
                }
            }
            for (std::size_t m = 0; m < ns; ++m) fp[m] *= t[b];
        }
    }
    for (std::size_t b = 0; b < nb; ++b) {
        if (t[b] >= floor_value) continue;
        t[b] = floor_value;
        if (derivs) std::fill(gt + b * ns, gt + (b + 1) * ns, 0.0);
        if (want_hess && ns > 0) std::fill(ht + b * ht_row, ht + (b + 1) * ht_row, 0.0);
    }
}

} // namespace

void CombineScratch::resize(const CombineTerms& cd, std::size_t npars) {
    std::size_t max_np = 0, max_ns = 0;
    for (const CombineProcess& p : cd.processes) {
        max_np = std::max(max_np, p.norm_pars.size());
        max_ns = std::max(max_ns, p.shape_pars.size());
    }
    n.resize(cd.processes.size());
    gn.resize(cd.gn_size);
    hn.resize(cd.hn_size);
    t.resize(cd.ncells);
    gt.resize(cd.gt_size);
    ht.resize(cd.ht_size);
    a.resize(max_np);
    bdiag.resize(max_np);
    du.resize(max_ns);
    d2u.resize(max_ns * max_ns);
    sq.resize(cd.stat_terms.size());
    fq.resize(3 * cd.stat_terms.size());
    gq.assign(npars, 0.0);
    mark.assign(npars, 0);
    touched.reserve(npars);
}

double combine_main_terms(const CombineTerms& cd, const double* pars, std::size_t npars,
                          const double* data, CombineScratch& s,
                          std::vector<double>& nu, std::vector<double>& w,
                          std::vector<double>& c, std::vector<double>& cell_rates,
                          double* grad, double* hess, std::vector<double>& jac) {
    const bool want_grad = grad != nullptr;
    const bool want_hess = hess != nullptr;
    const std::size_t nmain = nu.size();

    // 1. Normalisations and templates.
    std::fill(nu.begin(), nu.end(), 0.0);
    for (std::size_t p = 0; p < cd.processes.size(); ++p) {
        const CombineProcess& pr = cd.processes[p];
        s.n[p] = normalisation(cd, pr, pars, s, want_grad, want_hess);
        morphed_template(cd, pr, pars, s, want_grad, want_hess);
        for (std::size_t b = 0; b < pr.nbins; ++b) {
            const double rate = s.n[p] * s.t[pr.cell_offset + b];
            cell_rates[pr.cell_offset + b] = rate;
            nu[pr.bin_offset + b] += rate;
        }
    }
    // 2. Barlow-Beeston-lite terms theta * sqrt(sum N^2 e^2).
    terms::CompensatedSum nll;
    s.profiled.assign(nmain, -1);
    for (std::size_t k = 0; k < cd.stat_terms.size(); ++k) {
        const CombineStatTerm& st = cd.stat_terms[k];
        double q = 0.0;
        for (std::uint32_t e = st.begin; e < st.end; ++e) {
            const double n = s.n[cd.stat_entries[e].process];
            q += n * n * cd.stat_entries[e].error2;
        }
        s.sq[k] = std::sqrt(q);
        if (!(st.single && data[st.bin] == 0.0 && !cd.masked[st.bin])) {
            nu[st.bin] += pars[st.par] * s.sq[k];
            continue;
        }
        // profiled in closed form; w and c become df/dS and d2f/dS2
        const double sum = nu[st.bin];
        double* fq = s.fq.data() + 3 * k;
        s.profiled[st.bin] = static_cast<int>(k);
        // the expected rate stays a function of the parameters (Asimov data, toys)
        nu[st.bin] = std::max(floor_value, sum + pars[st.par] * s.sq[k]);
        if (q <= sum) {
            nll.add(sum - 0.5 * q);
            w[st.bin] = 1.0, c[st.bin] = 0.0;
            fq[0] = -0.5, fq[1] = 0.0, fq[2] = 0.0;
        } else {
            nll.add(sum * sum / (2.0 * q));
            w[st.bin] = sum / q, c[st.bin] = 1.0 / q;
            fq[0] = -sum * sum / (2.0 * q * q), fq[1] = -sum / (q * q);
            fq[2] = sum * sum / (q * q * q);
        }
    }
    // 3. Poisson deviances (the ln n! constants are the caller's); floored and masked
    // bins do not vary. w = (nu - n) / nu from the exact difference.
    for (std::size_t b = 0; b < nmain; ++b) {
        if (s.profiled[b] >= 0) continue;
        const bool floored = nu[b] < floor_value;
        if (floored) nu[b] = floor_value;
        if (cd.masked[b]) {
            w[b] = c[b] = 0.0;
            continue;
        }
        const double n = data[b], d = nu[b] - n;
        nll.add(terms::poisson_deviance(d, nu[b], n));
        w[b] = floored ? 0.0 : (n == 0.0 ? 1.0 : d / nu[b]);
        c[b] = floored || n == 0.0 ? 0.0 : n / (nu[b] * nu[b]);
    }
    if (!want_grad) return nll.value();

    // 4. Derivatives, summed per process.
    if (want_hess) std::fill(jac.begin(), jac.end(), 0.0);
    auto H = [&](std::size_t i, std::size_t j) -> double& {
        return hess[i * npars + j];
    };
    for (std::size_t p = 0; p < cd.processes.size(); ++p) {
        const CombineProcess& pr = cd.processes[p];
        const std::size_t nb = pr.nbins, np = pr.norm_pars.size(),
                          ns = pr.shape_pars.size();
        const double n = s.n[p];
        const double* t = s.t.data() + pr.cell_offset;
        const double* g = s.gn.data() + pr.gn_offset;
        const double* h = s.hn.data() + pr.hn_offset;
        const double* gt = s.gt.data() + pr.gt_offset;
        const double* ht = s.ht.data() + pr.ht_offset;
        const double* wb = w.data() + pr.bin_offset;
        double wt = 0.0;
        for (std::size_t b = 0; b < nb; ++b) wt += wb[b] * t[b];
        double* gts = s.du.data(); // sum_b w_b dT_b
        std::fill(gts, gts + ns, 0.0);
        for (std::size_t b = 0; b < nb; ++b)
            for (std::size_t m = 0; m < ns; ++m) gts[m] += wb[b] * gt[b * ns + m];
        for (std::size_t k = 0; k < np; ++k) grad[pr.norm_pars[k]] += wt * g[k];
        for (std::size_t m = 0; m < ns; ++m) grad[pr.shape_pars[m]] += n * gts[m];
        if (!want_hess) continue;
        for (std::size_t k = 0; k < np; ++k)
            for (std::size_t l = 0; l < np; ++l)
                H(pr.norm_pars[k], pr.norm_pars[l]) += wt * h[k * np + l];
        for (std::size_t k = 0; k < np; ++k)
            for (std::size_t m = 0; m < ns; ++m) {
                const double v = g[k] * gts[m];
                H(pr.norm_pars[k], pr.shape_pars[m]) += v;
                H(pr.shape_pars[m], pr.norm_pars[k]) += v;
            }
        if (pr.log_morph) {
            for (std::size_t b = 0; b < nb; ++b) {
                if (wb[b] == 0.0) continue;
                const double f = n * wb[b];
                for (std::size_t m = 0; m < ns; ++m)
                    for (std::size_t l = 0; l < ns; ++l)
                        H(pr.shape_pars[m], pr.shape_pars[l]) +=
                            f * ht[b * ns * ns + m * ns + l];
            }
        } else {
            for (std::size_t b = 0; b < nb; ++b)
                for (std::size_t m = 0; m < ns; ++m)
                    H(pr.shape_pars[m], pr.shape_pars[m]) += n * wb[b] * ht[b * ns + m];
        }
        for (std::size_t b = 0; b < nb; ++b) {
            double* row = jac.data() + (pr.bin_offset + b) * npars;
            for (std::size_t k = 0; k < np; ++k) row[pr.norm_pars[k]] += g[k] * t[b];
            for (std::size_t m = 0; m < ns; ++m)
                row[pr.shape_pars[m]] += n * gt[b * ns + m];
        }
    }
    for (std::size_t k = 0; k < cd.stat_terms.size(); ++k) {
        const CombineStatTerm& st = cd.stat_terms[k];
        const double sq = s.sq[k], wb = w[st.bin], th = pars[st.par];
        if (sq <= 0.0) continue;
        const bool profiled = s.profiled[st.bin] == static_cast<int>(k);
        // dQ/di = sum_p 2 N_p e_p^2 dN_p/di over the touched parameters
        s.touched.clear();
        for (std::uint32_t e = st.begin; e < st.end; ++e) {
            const CombineStatEntry& en = cd.stat_entries[e];
            const CombineProcess& pr = cd.processes[en.process];
            const double* g = s.gn.data() + pr.gn_offset;
            for (std::size_t j = 0; j < pr.norm_pars.size(); ++j) {
                const std::uint32_t i = pr.norm_pars[j];
                if (!s.mark[i]) {
                    s.mark[i] = 1;
                    s.touched.push_back(i);
                }
                s.gq[i] += 2.0 * s.n[en.process] * en.error2 * g[j];
            }
        }
        // nu depends on Q through theta sqrt(Q); a profiled f(S, Q) directly
        const double* fq = s.fq.data() + 3 * k;
        const double f_q = profiled ? fq[0] : wb * th / (2.0 * sq);
        const double f_qq = profiled ? fq[2] : -wb * th / (4.0 * sq * sq * sq);
        if (!profiled) grad[st.par] += wb * sq;
        for (std::uint32_t i : s.touched) grad[i] += f_q * s.gq[i];
        if (want_hess) {
            double* row = jac.data() + std::size_t{st.bin} * npars;
            if (profiled) {
                // cross term d2f/dSdQ (dS_i dQ_j + dQ_i dS_j); row holds dS
                for (std::size_t j = 0; j < npars; ++j) {
                    if (row[j] == 0.0) continue;
                    for (std::uint32_t i : s.touched) {
                        const double v = fq[1] * row[j] * s.gq[i];
                        H(i, j) += v;
                        H(j, i) += v;
                    }
                }
            } else {
                row[st.par] += sq;
                for (std::uint32_t i : s.touched) {
                    row[i] += th * s.gq[i] / (2.0 * sq);
                    const double v = wb * s.gq[i] / (2.0 * sq);
                    H(st.par, i) += v;
                    H(i, st.par) += v;
                }
            }
            for (std::uint32_t e = st.begin; e < st.end; ++e) {
                const CombineStatEntry& en = cd.stat_entries[e];
                const CombineProcess& pr = cd.processes[en.process];
                const double* g = s.gn.data() + pr.gn_offset;
                const double* h = s.hn.data() + pr.hn_offset;
                const std::size_t np = pr.norm_pars.size();
                const double f = 2.0 * f_q * en.error2, n = s.n[en.process];
                for (std::size_t a = 0; a < np; ++a)
                    for (std::size_t b = 0; b < np; ++b)
                        H(pr.norm_pars[a], pr.norm_pars[b]) +=
                            f * (g[a] * g[b] + n * h[a * np + b]);
            }
            for (std::uint32_t i : s.touched)
                for (std::uint32_t j : s.touched) H(i, j) += f_qq * s.gq[i] * s.gq[j];
        }
        for (std::uint32_t i : s.touched) {
            s.gq[i] = 0.0;
            s.mark[i] = 0;
        }
    }
    if (!want_hess) return nll.value();
    // 5. Gauss-Newton part sum_b c_b J_b J_b^T.
    for (std::size_t b = 0; b < nmain; ++b) {
        if (c[b] == 0.0) continue;
        const double* row = jac.data() + b * npars;
        s.touched.clear();
        for (std::size_t i = 0; i < npars; ++i)
            if (row[i] != 0.0) s.touched.push_back(static_cast<std::uint32_t>(i));
        for (std::uint32_t i : s.touched) {
            const double ci = c[b] * row[i];
            for (std::uint32_t j : s.touched) H(i, j) += ci * row[j];
        }
    }
    return nll.value();
}

std::unique_ptr<MainScratch> CombineTerms::make_scratch(std::size_t nmain,
                                                        std::size_t npars) const {
    auto s = std::make_unique<CombineScratch>();
    s->nu.resize(nmain);
    s->w.resize(nmain);
    s->c.resize(nmain);
    s->rates.resize(ncells);
    s->jac.resize(nmain * npars);
    s->resize(*this, npars);
    return s;
}

void CombineTerms::after_constraints(Evaluation& e, MainScratch& scratch) const {
    auto& s = static_cast<CombineScratch&>(scratch);
    e.nll.add(combine_main_terms(*this, e.pars.data(), e.pars.size(), e.data, s, s.nu,
                                 s.w, s.c, s.rates,
                                 e.grad.empty() ? nullptr : e.grad.data(),
                                 e.hess.empty() ? nullptr : e.hess.data(), s.jac));
}

void CombineTerms::profiled_parameters(const MainScratch& scratch,
                                       std::span<double> pars) const {
    // A single Barlow-Beeston-lite term on an empty data bin is profiled analytically:
    // min over theta of rate + theta sqrt(Q) + theta^2 / 2, with the rate kept >= 0.
    const auto& s = static_cast<const CombineScratch&>(scratch);
    for (std::size_t b = 0; b < s.profiled.size(); ++b) {
        if (s.profiled[b] < 0) continue;
        const auto k = static_cast<std::size_t>(s.profiled[b]);
        const CombineStatTerm& st = stat_terms[k];
        const double sq = s.sq[k];
        if (!(sq > 0.0)) continue;
        const double rate = s.nu[b] - pars[st.par] * sq; // without the term
        pars[st.par] = sq * sq <= rate ? -sq : -rate / sq;
    }
}

void CombineTerms::cell_rates(const MainScratch& scratch,
                              std::vector<double>& out) const {
    const auto& s = static_cast<const CombineScratch&>(scratch);
    out.assign(s.rates.begin(), s.rates.end());
}

} // namespace hifit
