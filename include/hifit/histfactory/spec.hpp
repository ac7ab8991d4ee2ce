// The HistFactory workspace as plain data (pyhf JSON schema 1.0.0).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hifit {

// Order matters: it is pyhf's `histfactory_set` order, which fixes the parameter order.
enum class ModifierType {
    histosys,
    lumi,
    normfactor,
    normsys,
    shapefactor,
    shapesys,
    staterror
};

const char* to_string(ModifierType type);

struct Modifier {
    std::string name;
    ModifierType type = ModifierType::normfactor;
    double hi = 1.0;             // normsys: factor at alpha = +1
    double lo = 1.0;             // normsys: factor at alpha = -1
    std::vector<double> hi_data; // histosys: absolute yields at alpha = +1
    std::vector<double> lo_data; // histosys: absolute yields at alpha = -1
    std::vector<double> data;    // shapesys / staterror: absolute per-bin uncertainty
};

struct Sample {
    std::string name;
    std::vector<double> data;
    std::vector<Modifier> modifiers;
};

struct Channel {
    std::string name;
    std::vector<Sample> samples;
};

struct Observation {
    std::string name;
    std::vector<double> data;
};

// One entry of measurement.config.parameters; absent keys stay empty.
struct ParameterConfig {
    std::string name;
    std::optional<std::vector<double>> inits;
    std::optional<std::vector<std::pair<double, double>>> bounds;
    std::optional<std::vector<double>> auxdata;
    std::optional<std::vector<double>> factors;
    std::optional<std::vector<double>> sigmas;
    std::optional<bool> fixed;
};

struct Measurement {
    std::string name;
    std::string poi;
    std::vector<ParameterConfig> parameters;
};

struct WorkspaceSpec {
    std::vector<Channel> channels;
    std::vector<Measurement> measurements;
    std::vector<Observation> observations;
    std::string version = "1.0.0";
};

} // namespace hifit
