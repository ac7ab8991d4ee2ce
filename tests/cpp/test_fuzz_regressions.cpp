// Inputs that once broke a reader under the fuzz driver (tests/fuzz): each is now a
// clean hifit error naming the place. Every file of tests/fuzz/regressions is replayed
// through the fuzz targets as well.
#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>

#include "../fuzz/corpus.hpp"
#include "../fuzz/targets.hpp"

#include <gtest/gtest.h>

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
    EXPECT_NE(patchset_error(text).find("ps.json:2: JSON nested more than 512 levels"),
              std::string::npos)
        << patchset_error(text);
    EXPECT_NE(patchset_error(regression("patchset/deeply_nested_values.json"))
                  .find("nested more than 512 levels"),
              std::string::npos);
    // brackets inside strings do not count
    EXPECT_EQ(
        patchset_error(R"({"metadata": {"description": ")" + deep +
                       R"("}, "patches": [{"metadata": {"name": "p"}, "patch": []}]})"),
        "<no error>");
}

// Were nlohmann type_error exceptions escaping (not hifit errors): metadata fields of
// the wrong type.
TEST(FuzzRegressions, PatchsetMetadataOfTheWrongTypeIsASchemaError) {
    EXPECT_EQ(patchset_error(regression("patchset/labels_not_an_array.json")),
              "ps.json: /metadata/labels: expected an array of strings, found string "
              "\"metadata\"");
    EXPECT_EQ(patchset_error(regression("patchset/description_not_a_string.json")),
              "ps.json: /metadata/description: expected a string, found an object");
    EXPECT_EQ(patchset_error(regression("patchset/patch_metadata_not_an_object.json")),
              "ps.json: /patches/0/metadata: expected an object, found number 3");
    EXPECT_EQ(patchset_error(regression("patchset/metadata_not_an_object.json")),
              "ps.json: /metadata: expected an object, found null");
}
