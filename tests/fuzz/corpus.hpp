// The fuzz driver's seeds and budgets, in one place. Seeds are the project's real
// inputs, read by path relative to the repository root (../shared/data beside the
// checkout); tests/fuzz/regressions/<parser>/ adds every input a fuzz run ever broke.
#pragma once

#include "targets.hpp"

#include <cstddef>
#include <string_view>

namespace hifit::fuzz {

struct Seed {
    Parser parser;
    const char* path; // relative to the repository root
};

inline constexpr Seed kSeeds[] = {
    // pyhf workspaces: every modifier type, 1-2 channels, published-analysis sizes
    {Parser::workspace, "../shared/data/pyhf/pyhf-docs-json/2-bin_1-channel.json"},
    {Parser::workspace, "../shared/data/pyhf/validation-workspaces/"
                        "simplemodels_correlated_background_doc_example.json"},
    {Parser::workspace, "../shared/data/pyhf/validation-workspaces/"
                        "validation_1bin_lumi.json"},
    {Parser::workspace, "../shared/data/pyhf/validation-workspaces/"
                        "validation_1bin_normsys.json"},
    {Parser::workspace, "../shared/data/pyhf/validation-workspaces/"
                        "validation_1bin_shapesys.json"},
    {Parser::workspace, "../shared/data/pyhf/validation-workspaces/"
                        "validation_2bin_2channel_coupledhistosys.json"},
    {Parser::workspace, "../shared/data/pyhf/validation-workspaces/"
                        "validation_2bin_2channel_coupledshapefactor.json"},
    {Parser::workspace, "../shared/data/pyhf/pyhf-tests/test_modifiers/"
                        "issue1720_greedy_staterror.json"},
    {Parser::workspace, "../shared/data/pyhf/pyhf-tests/test_modifiers/spec.json"},
    {Parser::workspace, "../shared/data/pyhf/pyhf-tests/test_export/"
                        "workspace_integer_data.json"},
    {Parser::workspace, "../shared/data/pyhf/pyhf-tests/test_workspace/poiless.json"},
    {Parser::workspace, "../shared/data/pyhf/pyhf-validation/xmlimport_input_bkg.json"},
    {Parser::workspace,
     "../shared/data/pyhf/pyhf-tests/test_patchset/example_bkgonly.json"},
    // pyhf patchsets, and single JSON patches (what `--patch file.json` reads)
    {Parser::patchset,
     "../shared/data/pyhf/pyhf-tests/test_patchset/example_patchset.json"},
    {Parser::patchset, "../shared/data/pyhf/atlas-sbottom-ins1748602/RegionA/"
                       "patch.sbottom_1300_205_60.json"},
    {Parser::patchset, "../shared/data/pyhf/atlas-sbottom-ins1748602/RegionB/"
                       "patch.sbottom_1400_550_60.json"},
    // Combine datacards: counting, shapes, rateParam/extArg/groups, autoMCStats, edits
    {Parser::datacard,
     "../shared/data/combine/tutorials/counting/simple-counting-experiment.txt"},
    {Parser::datacard,
     "../shared/data/combine/tutorials/counting/realistic-counting-experiment.txt"},
    {Parser::datacard,
     "../shared/data/combine/tutorials/counting/realistic-multi-channel.txt"},
    {Parser::datacard, "../shared/data/combine/tutorials/shapes/simple-shapes-TH1.txt"},
    {Parser::datacard,
     "../shared/data/combine/tutorials/rate_params/signal_region.txt"},
    {Parser::datacard, "../shared/data/combine/tutorials/groups/groupnuisA.txt"},
    {Parser::datacard, "../shared/data/combine/tutorials/CAT23001/datacard-4-abcd.txt"},
    {Parser::datacard,
     "../shared/data/combine/tutorials/CAT23001/datacard-5-multi-signal.txt"},
    {Parser::datacard,
     "../shared/data/combine/tutorials/CAT23001/datacard-2-template-analysis.txt"},
    {Parser::datacard,
     "../shared/data/combine/ci/template-analysis_shape_autoMCStats.txt"},
    {Parser::datacard, "../shared/data/combine/ci/template-analysis_shapeNInterp.txt"},
    {Parser::datacard, "../shared/data/combine/ci/htt_multiple_regions.txt"},
    {Parser::datacard,
     "../shared/data/combine/tutorials/statistical_routines_tutorial/datacard.txt"},
};

// The background workspace the patchset target applies patches to.
inline constexpr const char* kPatchBackground =
    "../shared/data/pyhf/pyhf-tests/test_patchset/example_bkgonly.json";

// Where inputs that once broke a parser are kept (replayed first, then mutated too).
inline constexpr const char* kRegressions = "tests/fuzz/regressions";

// Budgets per parser: a run stops at `iterations` or `seconds`, whichever comes first
// (seconds 0: no time limit). `smoke`: ctest; `quick`: make test (ASan+UBSan);
// `sanitize`: make sanitize; `campaign`: a long run by hand (README, "Checks").
struct Budget {
    std::string_view name;
    std::size_t iterations;
    double seconds;
};

inline constexpr Budget kBudgets[] = {
    {"smoke", 300, 60},
    {"quick", 20000, 30},
    {"sanitize", 100000, 600},
    {"campaign", static_cast<std::size_t>(-1), 600},
};

} // namespace hifit::fuzz
