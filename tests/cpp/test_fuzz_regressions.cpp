// Inputs that once broke a reader under the fuzz driver (tests/fuzz): each is now a
// clean hifit error naming the place. Every file of tests/fuzz/regressions is replayed
// through the fuzz targets as well.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

#include "../fuzz/corpus.hpp"
#include "../fuzz/targets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = HIFIT_SOURCE_DIR;

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string regression(const std::string& rel) {
    return read(kRoot / hifit::fuzz::kRegressions / rel);
}

// The message of the InvalidSpec a patchset text raises ("<no error>" if none).
std::string patchset_error(const std::string& text) {
    try {
        hifit::PatchSet::from_json(text, "ps.json");
    } catch (const hifit::InvalidSpec& e) {
        return e.what();
    }
    return "<no error>";
}

} // namespace

TEST(FuzzRegressions, EveryRegressionInputIsAcceptedOrACleanError) {
    const hifit::fuzz::Targets targets(read(kRoot / hifit::fuzz::kPatchBackground));
    std::size_t replayed = 0;
    for (hifit::fuzz::Parser parser : hifit::fuzz::kParsers) {
        const fs::path dir = kRoot / hifit::fuzz::kRegressions / name_of(parser);
        for (const auto& file : fs::directory_iterator(dir)) {
            if (file.path().filename().string().starts_with(".")) continue;
            EXPECT_NO_THROW(targets.run(parser, read(file.path()))) << file.path();
            ++replayed;
        }
    }
    EXPECT_GT(replayed, 0u);
}

// Was a stack overflow: patch values nested 100000 deep, serialized recursively.
TEST(FuzzRegressions, DeeplyNestedJsonIsRefusedBeforeParsing) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const std::string text = R"({"metadata": {"labels": ["x"]}, "patches": [{"metadata":
        {"name": "p", "values": )" +
                             deep + R"(}, "patch": []}], "version": "1.0.0"})";
    EXPECT_NE(
        patchset_error(text).find("ps.json: invalid JSON: arrays and objects nested "
                                  "deeper than 1000 levels"),
        std::string::npos)
        << patchset_error(text);
    // brackets inside strings do not count (the schema error comes later)
    EXPECT_EQ(
        patchset_error(R"({"metadata": {"description": ")" + deep +
                       R"("}, "patches": [{"metadata": {"name": "p"}, "patch": []}]})")
            .find("nested"),
        std::string::npos);
}

// Were nlohmann type_error exceptions escaping (not hifit errors): metadata fields of
// the wrong type.
TEST(FuzzRegressions, PatchsetMetadataOfTheWrongTypeIsASchemaError) {
    for (const char* name :
         {"labels_not_an_array", "description_not_a_string",
          "patch_metadata_not_an_object", "metadata_not_an_object"}) {
        const auto error =
            patchset_error(regression(std::string("patchset/") + name + ".json"));
        EXPECT_EQ(error.rfind("ps.json: /", 0), 0u) << name << ": " << error;
    }
}

namespace {

// A counting card whose signal process is `name`, edited by a pattern.
std::string edited_card(const std::string& name, const std::string& pattern) {
    return "imax 1\njmax 1\nkmax *\nbin ch\nobservation 10\nbin ch ch\nprocess " +
           name + " bkg\nprocess 0 1\nrate 2 8\nlumi lnN 1.1 1.1\nnuisance edit add " +
           pattern + " ch x lnN 1.2\n";
}

std::size_t effects_of(const hifit::datacard::Datacard& card, const std::string& row) {
    for (const auto& n : card.nuisances)
        if (n.name == row)
            return static_cast<std::size_t>(
                std::count_if(n.effects.begin(), n.effects.end(),
                              [](const auto& e) { return e.active; }));
    return 0;
}

} // namespace

// Were a stack overflow (libstdc++'s regex matcher recursing once per character of a
// 100 k-character process name) and exponential backtracking ((a|aa)*b on 40 'a's).
TEST(FuzzRegressions, EditPatternsMatchLongNamesWithoutRecursionOrBacktracking) {
    namespace dc = hifit::datacard;
    const std::string name(100000, 's');
    EXPECT_EQ(effects_of(dc::parse_datacard(edited_card(name, ".*"), "t.txt"), "x"),
              2u);
    EXPECT_EQ(effects_of(dc::parse_datacard(edited_card(name, "s*"), "t.txt"), "x"),
              1u);
    const auto card = dc::parse_datacard(
        regression("datacard/edit_pattern_backtracking.txt"), "t.txt");
    EXPECT_EQ(effects_of(card, "x"), 0u); // the pattern matches no process
    // back-references are refused with the line, not matched by backtracking
    try {
        dc::parse_datacard(edited_card("aa", "(a)\\1"), "t.txt");
        ADD_FAILURE() << "a back-reference was accepted";
    } catch (const hifit::InvalidSpec& e) {
        EXPECT_NE(
            std::string(e.what()).find("t.txt:11: expected a valid regular expression"),
            std::string::npos)
            << e.what();
    }
}

// Was an out-of-range read (columns taken from a 'bin' line shorter than the 'process'
// line when the 'bin' line came after it).
TEST(FuzzRegressions, BinLineAfterTheProcessLineMustKeepTheColumnCount) {
    try {
        hifit::datacard::parse_datacard(
            regression("datacard/bin_line_after_process_line.txt"), "t.txt");
        ADD_FAILURE() << "a card with 1 bin column and 2 process columns was accepted";
    } catch (const hifit::InvalidSpec& e) {
        EXPECT_EQ(
            std::string(e.what()),
            "t.txt:9: expected 2 bins (one per column of the 'process' line on line "
            "7), found '<end of line>'");
    }
}

// Was a stack overflow in the model builder: rateParam targets matched by a glob
// matcher that recursed once per character of a 100 k-character process name.
TEST(FuzzRegressions, RateParamOfALongProcessNameBuildsWithoutRecursion) {
    namespace dc = hifit::datacard;
    const std::string name(100000, 's');
    const std::string text =
        "imax 1\njmax 1\nkmax *\nbin ch\nobservation 10\nbin ch ch\n"
        "process " +
        name +
        " bkg\nprocess 0 1\nrate 2 8\n"
        "lumi lnN 1.1 1.1\nk rateParam ch " +
        name +
        " 1\n"
        "g rateParam ch s*s?s 1\n";
    const auto card = dc::parse_datacard(text, "t.txt");
    const auto built = dc::build_model(card, {});
    // both rateParams scale the long-named process: r, lumi, k and g
    EXPECT_EQ(built.model.par_names().size(), 4u);
}
