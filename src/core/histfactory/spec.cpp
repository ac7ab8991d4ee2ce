// Names of the HistFactory modifier types, as pyhf spells them.
#include <hifit/histfactory/spec.hpp>

#include "enum_names.hpp"

namespace hifit {

const char* to_string(ModifierType type) {
    static constexpr const char* names[] = {"histosys", "lumi",        "normfactor",
                                            "normsys",  "shapefactor", "shapesys",
                                            "staterror"};
    return enum_name(type, names);
}

} // namespace hifit
