#include <hifit/model.hpp>
#include <hifit/spec.hpp>

namespace hifit {

const char* to_string(ModifierType type) {
    switch (type) {
    case ModifierType::histosys:
        return "histosys";
    case ModifierType::lumi:
        return "lumi";
    case ModifierType::normfactor:
        return "normfactor";
    case ModifierType::normsys:
        return "normsys";
    case ModifierType::shapefactor:
        return "shapefactor";
    case ModifierType::shapesys:
        return "shapesys";
    case ModifierType::staterror:
        return "staterror";
    }
    return "unknown";
}

const char* to_string(Constraint constraint) {
    switch (constraint) {
    case Constraint::none:
        return "unconstrained";
    case Constraint::normal:
        return "constrained_by_normal";
    case Constraint::poisson:
        return "constrained_by_poisson";
    }
    return "unknown";
}

} // namespace hifit
