// Names of the HistFactory modifier types, as pyhf spells them.
#include <hifit/histfactory/spec.hpp>

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

} // namespace hifit
