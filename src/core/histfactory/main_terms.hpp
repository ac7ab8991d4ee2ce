// HistFactory's main terms (pyhf semantics) as flat arrays, built by
// histfactory/build.cpp. Private to the core.
//
// Per cell nu = A * M with A = nominal + sum_h Delta_h(alpha_h) and M = prod_k kappa_k.
#pragma once

#include <hifit/likelihood/model.hpp>

#include "likelihood/main_terms.hpp"

#include <cstdint>
#include <vector>

namespace hifit {

// A multiplicative factor kappa(theta) evaluated once per likelihood call and shared by
// every cell it acts on (a normsys acts on all bins of a sample with one value).
struct FactorSlot {
    enum Kind : std::uint8_t { linear, exp_code1, poly_code4 };
    std::uint32_t par = 0;
    Kind kind = linear;
    double ln_hi = 0.0, ln_lo = 0.0;     // log of the factors at alpha = +1 / -1
    double poly[6] = {0, 0, 0, 0, 0, 0}; // code4 polynomial coefficients a_1..a_6
};

// An additive histosys shift of one cell.
struct AdditiveTerm {
    std::uint32_t par = 0;
    HistosysCode code = HistosysCode::code4p;
    double up = 0.0;   // hi - nominal
    double down = 0.0; // nominal - lo
    // index (within its cell) of the factor driven by the same parameter (a normsys of
    // the same name), or -1
    std::int32_t shared_factor = -1;
};

// One (sample, bin) cell: nu = (nominal + sum additive) * prod factors.
struct HistFactoryCell {
    std::uint32_t bin = 0;
    double nominal = 0.0;
    std::uint32_t factor_begin = 0,
                  factor_end = 0;             // into HistFactoryTerms::cell_factors
    std::uint32_t add_begin = 0, add_end = 0; // into HistFactoryTerms::additive
};

// Fisher steps are offered where the exact Hessian's second-order part costs more than
// this many times the Fisher information (1Lbb: about 7).
inline constexpr double kFisherCostRatio = 4.0;

class HistFactoryTerms final : public MainTerms {
  public:
    std::vector<FactorSlot> slots;
    std::vector<std::uint32_t> cell_factors;    // slot indices
    std::vector<std::uint32_t> cell_factor_par; // their parameters, increasing per cell
    std::vector<AdditiveTerm> additive;
    std::vector<HistFactoryCell> cells; // in the order of ModelData::cells

    ModelKind kind() const override { return ModelKind::histfactory; }
    std::unique_ptr<MainScratch> make_scratch(std::size_t nmain,
                                              std::size_t npars) const override;
    void before_constraints(Evaluation& e, MainScratch& s) const override;
    void after_constraints(Evaluation& e, MainScratch& s) const override;
    bool fisher_hessian(std::size_t nmain, std::size_t npars) const override;
    void cell_rates(const MainScratch& s, std::vector<double>& out) const override;
};

} // namespace hifit
