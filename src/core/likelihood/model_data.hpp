// Compiled model: structure-of-arrays consumed by the likelihood. Private to the core.
#pragma once

#include <hifit/likelihood/model.hpp>

#include <cstdint>
#include <memory>
#include <string>
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
struct Cell {
    std::uint32_t bin = 0;
    std::uint32_t sample = 0; // index into ModelData::samples
    double nominal = 0.0;
    std::uint32_t factor_begin = 0, factor_end = 0; // into ModelData::cell_factors
    std::uint32_t add_begin = 0, add_end = 0;       // into ModelData::additive
};

struct GaussianTerm {
    std::uint32_t par = 0;
    std::uint32_t aux = 0;
    double sigma = 1.0;
};

struct PoissonTerm {
    std::uint32_t par = 0;
    std::uint32_t aux = 0;
    double factor = 1.0; // tau
};

struct CombineData; // Combine-style main terms (combine_data.hpp)

struct ModelData {
    // structure (pyhf order)
    std::vector<std::string> channels;
    std::vector<std::size_t> channel_nbins;
    std::vector<std::size_t> channel_offset;
    std::vector<std::string> samples;
    std::vector<ParamSetInfo> paramsets;
    std::vector<std::string> par_names;
    std::vector<double> init;
    std::vector<std::pair<double, double>> bounds;
    std::vector<bool> fixed;
    std::vector<double> auxdata;
    std::optional<std::size_t> poi_index;
    std::string poi_name;
    std::string measurement_name;
    std::size_t nmain = 0;

    // evaluation arrays
    std::vector<FactorSlot> slots;
    std::vector<std::uint32_t> cell_factors;    // slot indices
    std::vector<std::uint32_t> cell_factor_par; // their parameters, increasing per cell
    std::vector<AdditiveTerm> additive;
    std::vector<Cell> cells;
    std::vector<GaussianTerm> gaussian;
    std::vector<PoissonTerm> poisson;

    // Set for models built from Combine datacards: the main terms then follow
    // text2workspace's model and `cells` only name the (process, bin) rates.
    std::shared_ptr<const CombineData> combine;
};

} // namespace hifit
