// The one interface every model kind implements: the main (Poisson) terms of -ln L.
// Private to the core.
//
// -ln L = sum over main bins of the Poisson terms of nu_b(theta)     (the model kind's)
//       + sum over constrained parameters of their constraint terms  (shared)
// The Likelihood owns the data, the constraint terms and the constants of the data;
// a MainTerms owns how the rates nu_b and their derivatives are computed (HistFactory:
// histfactory/main_terms.hpp; Combine: combine/main_terms.hpp).
#pragma once

#include <hifit/likelihood/model.hpp>

#include "likelihood/poisson_terms.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace hifit {

// Buffers of one evaluation context, allocated once: the expected rate of every main
// bin (filled by every kind), plus what the kind keeps between its two passes.
struct MainScratch {
    virtual ~MainScratch() = default;
    std::vector<double> nu;
};

// One evaluation of -ln L, shared by the main and the constraint terms.
struct Evaluation {
    std::span<const double> pars;
    const double* data = nullptr; // main bins, then auxdata
    std::span<double> grad;       // zeroed; empty when not wanted
    std::span<double> hess;       // zeroed, npars x npars; empty when not wanted
    terms::CompensatedSum nll;    // deviances (zero at the saturated point)
    // hess may be the Fisher approximation instead (MainTerms::fisher_hessian)
    bool fisher = false;
};

class MainTerms {
  public:
    virtual ~MainTerms() = default;
    virtual ModelKind kind() const = 0;
    virtual std::unique_ptr<MainScratch> make_scratch(std::size_t nmain,
                                                      std::size_t npars) const = 0;
    // Main bins whose Poisson term is dropped (Combine's masked channels); empty:
    // none.
    virtual std::span<const std::uint8_t> masked_bins() const { return {}; }
    // Two calls per evaluation, around the constraint terms, so each kind keeps its
    // order of summation (HistFactory sums its deviances before the constraints,
    // Combine after). Together they add the main-term deviances to e.nll and their
    // gradient and symmetric Hessian (-ln L units) to e.grad / e.hess when those are
    // not empty, and leave the rates in s.nu. Allocation-free.
    virtual void before_constraints(Evaluation&, MainScratch&) const {}
    virtual void after_constraints(Evaluation& e, MainScratch& s) const = 0;
    // Whether after_constraints fills e.hess with the Fisher information of the main
    // terms, sum_b J_b J_b^T / nu_b, instead of their exact Hessian when e.fisher is
    // set: positive semidefinite, and offered only where it costs a fraction of the
    // exact Hessian (models of nmain bins and npars parameters).
    virtual bool fisher_hessian(std::size_t /*nmain*/, std::size_t /*npars*/) const {
        return false;
    }
    // The rate of every cell (ModelData::cells) at the last evaluation.
    virtual void cell_rates(const MainScratch& s, std::vector<double>& out) const = 0;
    // Parameters the last evaluation profiled in closed form (their value does not
    // enter -ln L) set to their minimising values; none by default.
    virtual void profiled_parameters(const MainScratch&, std::span<double>) const {}
};

} // namespace hifit
