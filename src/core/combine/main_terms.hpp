// Combine's binned model (text2workspace semantics) as flat arrays. Private to the
// core.
//
// Per channel bin b:  nu_b = max(1e-9, sum_p N_p(theta) T_pb(theta) + sum_k theta_k
// e_k)
//   N_p   = n0 * exp(sum of log-normal exponents) * product of linear/power factors
//   T_pb  = morphed template (Combine's smooth-step vertical morph, additive or on the
//           log of the bin contents), floored at 1e-9
//   e_k   = sqrt(sum_{p in k} N_p^2 e_pb^2): Barlow-Beeston-lite additive stat terms
#pragma once

#include <hifit/likelihood/model.hpp>

#include "likelihood/main_terms.hpp"

#include <cstdint>
#include <vector>

namespace hifit {

struct CombineFactor {
    enum Kind : std::uint8_t {
        log_normal, // exp(theta L(theta)): lnN (symmetric or not), shape normalisation
        linear,     // coeff * theta: POIs, rateParams, gmN
        power       // theta^exponent: formula rateParams (monomials)
    };
    std::uint32_t par = 0;
    std::uint32_t local = 0; // index into the process' norm_pars
    Kind kind = linear;
    double ln_hi = 0.0, ln_lo = 0.0; // log kappa at theta = +1 and log kappa_lo (-1)
    double coeff = 1.0;
    double exponent = 1.0;
};

// One shape systematic of one process: templates Up/Down against the nominal.
struct CombineMorph {
    std::uint32_t par = 0;
    std::uint32_t local = 0; // index into the process' shape_pars
    double scale = 1.0;      // x = scale * theta
    std::uint32_t offset =
        0; // sum (d+ + d-) and difference (d+ - d-) at offset, +nbins
};

struct CombineProcess {
    std::uint32_t bin_offset = 0; // first main bin of its channel
    std::uint32_t nbins = 0;
    std::uint32_t cell_offset = 0; // first of its nbins cells
    double n0 = 1.0;
    double sum0 = 1.0; // sum of the nominal template (log morph renormalisation)
    double q = 1.0;    // smooth-step region of the morph
    bool log_morph = false;
    std::uint32_t factor_begin = 0, factor_end = 0;
    std::uint32_t morph_begin = 0, morph_end = 0;
    std::uint32_t template_offset = 0; // nominal (or its log) at templates[offset ...]
    std::vector<std::uint32_t> norm_pars, shape_pars; // distinct, local numbering
    // scratch offsets
    std::uint32_t gn_offset = 0, hn_offset = 0, gt_offset = 0, ht_offset = 0;
};

// theta_k * sqrt(sum_{p} N_p^2 e_pb^2) added to one bin.
struct CombineStatTerm {
    std::uint32_t par = 0;
    std::uint32_t bin = 0;
    std::uint32_t begin = 0, end = 0; // into stat_entries
    bool single = true;               // the only stat term of its bin
};

struct CombineStatEntry {
    std::uint32_t process = 0;
    double error2 = 0.0; // e_pb^2
};

struct CombineTerms final : MainTerms {
    std::vector<CombineProcess> processes;
    std::vector<CombineFactor> factors;
    std::vector<CombineMorph> morphs;
    std::vector<double> templates; // nominal per process
    std::vector<double> deltas;    // per morph: sum and difference, nbins each
    std::vector<CombineStatTerm> stat_terms;
    std::vector<CombineStatEntry> stat_entries;
    std::vector<std::uint8_t> masked; // per main bin
    std::size_t ncells = 0;
    // scratch sizes
    std::size_t gn_size = 0, hn_size = 0, gt_size = 0, ht_size = 0;

    ModelKind kind() const override { return ModelKind::combine; }
    std::unique_ptr<MainScratch> make_scratch(std::size_t nmain,
                                              std::size_t npars) const override;
    std::span<const std::uint8_t> masked_bins() const override { return masked; }
    void after_constraints(Evaluation& e, MainScratch& s) const override;
    void cell_rates(const MainScratch& s, std::vector<double>& out) const override;
    void profiled_parameters(const MainScratch& s,
                             std::span<double> pars) const override;
};

// Scratch of one evaluation context.
struct CombineScratch final : MainScratch {
    std::vector<double> w, c;          // per main bin
    std::vector<double> rates;         // per cell
    std::vector<double> jac;           // nmain x npars (Hessian scratch)
    std::vector<double> n;             // N per process
    std::vector<double> gn, hn;        // dN, d2N per process (local numbering)
    std::vector<double> t, gt, ht;     // T, dT, d2T per cell
    std::vector<double> a, bdiag;      // log-normal exponent derivatives (scratch)
    std::vector<double> sx, dsx, d2sx; // smooth step per morph
    std::vector<double> du, d2u;       // log morph: dU, d2U (U = sum of exp(F))
    std::vector<double> sq;            // sqrt(Q) per stat term
    std::vector<double> fq;            // profiled terms: df/dQ, d2f/dSdQ, d2f/dQ2
    std::vector<int> profiled;         // per main bin: its profiled stat term or -1
    std::vector<double> gq;            // dQ per parameter (stat terms)
    std::vector<std::uint32_t> touched;
    std::vector<std::uint8_t> mark;
    void resize(const CombineTerms& cd, std::size_t npars);
};

// Main-term part of -ln L of a Combine model as Poisson deviances (zero at nu = n; the
// constants of the data are the caller's). Fills nu, w, c (per
// main bin) and the cell rates; adds d(-ln L)/dtheta to grad and the full symmetric
// Hessian to hess when they are not null; jac (nmain x npars) is Hessian scratch.
double combine_main_terms(const CombineTerms& cd, const double* pars, std::size_t npars,
                          const double* data, CombineScratch& s,
                          std::vector<double>& nu, std::vector<double>& w,
                          std::vector<double>& c, std::vector<double>& cell_rates,
                          double* grad, double* hess, std::vector<double>& jac);

} // namespace hifit
