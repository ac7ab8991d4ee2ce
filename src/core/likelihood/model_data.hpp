// Compiled model: its structure, constraint terms and main terms. Private to the core.
#pragma once

#include <hifit/likelihood/model.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hifit {

// One (sample, bin) cell of the model: the unit of per-sample predictions.
struct CellName {
    std::uint32_t bin = 0;
    std::uint32_t sample = 0; // index into ModelData::samples
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

class MainTerms; // likelihood/main_terms.hpp

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

    std::vector<CellName> cells; // in the order of MainTerms::cell_rates

    // constraint terms, one per constrained parameter
    std::vector<GaussianTerm> gaussian;
    std::vector<PoissonTerm> poisson;

    // the main terms of the model's kind (HistFactory or Combine)
    std::shared_ptr<const MainTerms> main;
};

} // namespace hifit
