#include <hifit/hifit.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

const std::string kData = HIFIT_SHARED_DATA;

std::string error_of(const std::string& json) {
    try {
        hifit::Workspace::from_json(json, "ws.json");
    } catch (const hifit::Error& e) {
        return e.what();
    }
    return "";
}

const char* kMinimal = R"({"channels":[{"name":"c","samples":[{"name":"s","data":[1.0],
  "modifiers":[{"name":"mu","type":"normfactor","data":null}]}]}],
  "measurements":[{"name":"m","config":{"poi":"mu","parameters":[]}}],
  "observations":[{"name":"c","data":[1.0]}],"version":"1.0.0"})";

} // namespace

TEST(Workspace, ErrorsNameTheJsonPath) {
    std::string bad = kMinimal;
    bad.replace(bad.find("\"data\":[1.0]"), 12, "\"data\":[\"x\"]");
    EXPECT_EQ(
        error_of(bad),
        "ws.json: /channels/0/samples/0/data/0: expected a number, found string \"x\"");

    bad = kMinimal;
    bad.replace(bad.find("normfactor"), 10, "normfacto");
    EXPECT_NE(error_of(bad).find("/channels/0/samples/0/modifiers/0/type"),
              std::string::npos);

    bad = kMinimal;
    bad.replace(bad.find("\"version\""), 9, "\"verzion\"");
    EXPECT_NE(error_of(bad).find("missing required key \"version\""),
              std::string::npos);

    EXPECT_NE(error_of("{\n\"channels\": [,]}").find("ws.json:2: invalid JSON"),
              std::string::npos);
}

TEST(Workspace, NestingBeyondAThousandLevelsIsRefusedBeforeParsing) {
    // Applying a patch copies its value recursively: a million levels would overflow
    // the stack. Brackets inside strings do not count.
    const auto nested = [](std::size_t levels) {
        return std::string(levels, '[') + std::string(levels, ']');
    };
    EXPECT_EQ(
        error_of("{\"channels\": " + nested(1'000'000) + "}"),
        "ws.json: invalid JSON: arrays and objects nested deeper than 1000 levels");
    EXPECT_EQ(error_of("{\"channels\": " + nested(999) + "}").find("nested deeper"),
              std::string::npos);
    const std::string in_string = "{\"x\": \"" + std::string(5000, '[') + "\"}";
    EXPECT_EQ(error_of(in_string).find("nested deeper"), std::string::npos);
}

TEST(Workspace, DevicesAndDirectoriesAreNotRead) {
    const auto error_loading = [](const std::string& path) -> std::string {
        try {
            hifit::Workspace::load(path);
        } catch (const hifit::Error& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_EQ(error_loading("/dev/zero"),
              "/dev/zero: is not a regular file (a device, FIFO or socket), expected a "
              "JSON file");
    EXPECT_EQ(error_loading("/tmp"), "/tmp: is a directory, expected a JSON file");
}

TEST(Workspace, UnknownPoiIsAModelError) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json");
    EXPECT_THROW(ws.model(), hifit::InvalidModel);
    hifit::ModelOptions no_poi;
    no_poi.poi_name = "";
    const auto model = ws.model(no_poi);
    EXPECT_EQ(model.npars(), 121u);
    EXPECT_EQ(model.naux(), 118u);
    EXPECT_FALSE(model.poi_index().has_value());
}

// Parameter order and names from pyhf (reference Appendix A.1, example_bkgonly.json).
TEST(Workspace, ParameterOrderFollowsPyhf) {
    const auto ws = hifit::Workspace::load(
        kData + "/pyhf/pyhf-tests/test_patchset/example_bkgonly.json");
    const auto model = ws.model();
    const std::vector<std::string> expected{"lumi",
                                            "SigXsecOverSM",
                                            "syst2",
                                            "syst3",
                                            "syst1",
                                            "staterror_channel1[0]",
                                            "staterror_channel1[1]"};
    EXPECT_EQ(model.par_names(), expected);
    EXPECT_EQ(model.poi_index(), 1u);
    const std::vector<double> aux{1.0, 0.0, 0.0, 0.0, 1.0, 1.0};
    EXPECT_EQ(model.auxdata(), aux);
}

TEST(Workspace, PatchsetAppliesPatchByName) {
    const auto ws =
        hifit::Workspace::load(kData + "/pyhf/atlas-1Lbb-ins1755298/BkgOnly.json");
    const auto ps =
        hifit::PatchSet::load(kData + "/pyhf/atlas-1Lbb-ins1755298/patchset.json");
    EXPECT_EQ(ps.names().size(), 125u);
    const auto model = ps.apply(ws, "C1N2_Wh_hbb_700_400").model();
    EXPECT_EQ(model.npars(), 126u);
    EXPECT_EQ(model.poi_name(), "mu_SIG");
    EXPECT_THROW(ps.apply(ws, "no_such_patch"), hifit::InvalidPatch);
}

// Values that make the likelihood undefined everywhere are model errors naming the
// file and the place; what pyhf evaluates finitely is kept (the comparison with pyhf
// is tests/python/test_input_validation.py).
TEST(Workspace, UndefinedLikelihoodValuesAreInputErrors) {
    auto message = [](const std::string& from, const std::string& to,
                      const std::string& from2 = "", const std::string& to2 = "") {
        std::string text = kMinimal;
        text.replace(text.find(from), from.size(), to);
        if (!from2.empty()) text.replace(text.find(from2), from2.size(), to2);
        try {
            const auto ws = hifit::Workspace::from_json(text, "ws.json");
            ws.data(ws.model());
        } catch (const hifit::InvalidModel& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    const std::string mu = R"({"name":"mu","type":"normfactor","data":null})";
    EXPECT_EQ(
        message(mu, mu + R"(,{"name":"n","type":"normsys","data":{"hi":0,"lo":0.9}})"),
        "ws.json: channel \"c\", sample \"s\", modifier \"n\" (normsys): hi is 0, "
        "expected a finite factor > 0 (the interpolation takes its logarithm)");
    EXPECT_EQ(
        message(mu, mu + R"(,{"name":"n","type":"normsys","data":{"hi":1.1,"lo":-1}})"),
        "ws.json: channel \"c\", sample \"s\", modifier \"n\" (normsys): lo is -1, "
        "expected a finite factor > 0 (the interpolation takes its logarithm)");
    EXPECT_EQ(message("\"observations\":[{\"name\":\"c\",\"data\":[1.0]",
                      "\"observations\":[{\"name\":\"c\",\"data\":[-1.0]"),
              "ws.json: observation for channel \"c\", bin 0: -1, expected a finite "
              "count >= 0");
    EXPECT_EQ(
        message("\"data\":[1.0],\n", "\"data\":[-1.0],\n"),
        "ws.json: channel \"c\", bin 0: the samples' nominal yields sum to -1 with 1 "
        "observed events; expected a total >= 0 where events are observed");
    EXPECT_EQ(message("\"parameters\":[]",
                      R"("parameters":[{"name":"mu","bounds":[[2,1]]}])"),
              "ws.json: measurement \"m\": parameter \"mu\": bounds[0] is [2, 1], "
              "expected lo <= hi");
    // accepted as by pyhf: a negative sample yield where nothing is observed, and
    // staterror widths <= 0 (the bin's parameter is then fixed)
    EXPECT_EQ(message("\"data\":[1.0],\n", "\"data\":[-1.0],\n", "\"data\":[1.0]}]",
                      "\"data\":[0.0]}]"),
              "<no error>");
    EXPECT_EQ(message(mu, mu + R"(,{"name":"st","type":"staterror","data":[-0.5]})"),
              "<no error>");
}

// pyhf's patchset schema: version 1.0.0, names and labels of [a-zA-Z0-9_]+; the full
// comparison with pyhf is tests/python/test_input_validation.py.
TEST(Workspace, PatchsetsOutsidePyhfsSchemaAreRefused) {
    const std::string good = R"({"version": "1.0.0", "metadata": {"description": "d",
      "digests": {"md5": "0123456789abcdef0123456789abcdef"},
      "references": {"hepdata": "ins1234567"}, "labels": ["x"]},
      "patches": [{"metadata": {"name": "p", "values": [1]},
      "patch": [{"op": "replace", "path": "/a", "value": 1}]}]})";
    EXPECT_EQ(hifit::PatchSet::from_json(good, "ps.json").names().size(), 1u);
    auto error = [&](const std::string& from, const std::string& to) {
        std::string bad = good;
        bad.replace(bad.find(from), from.size(), to);
        try {
            hifit::PatchSet::from_json(bad, "ps.json");
        } catch (const hifit::InvalidSpec& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    EXPECT_EQ(
        error("\"1.0.0\"", "\"1.0.1\""),
        "ps.json: /version: expected \"1.0.0\" (the patchset version pyhf reads), "
        "found string \"1.0.1\"");
    EXPECT_EQ(
        error("\"name\": \"p\"", "\"name\": \"\""),
        "ps.json: /patches/0/metadata/name: expected a non-empty name of letters, "
        "digits and '_', found string \"\"");
    EXPECT_EQ(error("[\"x\"]", "[\"\"]"),
              "ps.json: /metadata/labels/0: expected a non-empty label of letters, "
              "digits and '_', found string \"\"");
    EXPECT_EQ(
        error("[\"x\"]", "[]"),
        "ps.json: /metadata/labels: expected a non-empty array of labels, found an "
        "array of 0 item(s)");
    EXPECT_EQ(
        error("\"values\": [1]", "\"values\": [1, 2]"),
        "ps.json: /patches/0/metadata/values: expected 1 value(s), one per label, "
        "found 2");
}

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

double twice_nll_at_init(const hifit::Workspace& ws) {
    const auto model = ws.model();
    hifit::Likelihood lh(model, ws.data(model));
    return lh.twice_nll(model.suggested_init());
}

} // namespace

// The typed fast path and the generic JSON path of apply_patch give the same workspace.
TEST(Workspace, TypedPatchEqualsGenericJsonPatch) {
    const std::string dir = kData + "/pyhf/atlas-sbottom-ins1748602/RegionA/";
    const auto ws = hifit::Workspace::load(dir + "BkgOnly.json");
    std::string patch = read_text(dir + "patch.sbottom_1300_205_60.json");
    const auto typed = ws.apply_patch(patch, "patch.json");
    // A "test" operation is not handled by the typed path: forces the generic one.
    patch.insert(patch.find('[') + 1,
                 R"({"op": "test", "path": "/version", "value": "1.0.0"},)");
    const auto generic = ws.apply_patch(patch, "patch.json");
    EXPECT_EQ(typed.model().par_names(), generic.model().par_names());
    EXPECT_EQ(typed.spec().channels.size(), 2u);
    EXPECT_DOUBLE_EQ(twice_nll_at_init(typed), twice_nll_at_init(generic));
    EXPECT_EQ(hifit::Workspace::from_json(typed.to_json()).model().par_names(),
              typed.model().par_names());
}

TEST(Workspace, PatchErrorsNameTheOperation) {
    const auto ws = hifit::Workspace::from_json(kMinimal, "ws.json");
    try {
        ws.apply_patch(R"([{"op": "remove", "path": "/channels/3"}])", "p.json");
        FAIL() << "expected an error";
    } catch (const hifit::InvalidPatch& e) {
        EXPECT_EQ(std::string(e.what()),
                  "p.json: /0: index \"3\" is out of range (the array has 1 items)");
    }
    EXPECT_THROW(ws.apply_patch(R"([{"op": "add", "path": "/channels/0/samples/-",
                                   "value": {"name": "x"}}])"),
                 hifit::InvalidSpec);
    EXPECT_THROW(ws.apply_patch(R"([{"op": "remove", "path": "/nowhere/else"}])"),
                 hifit::InvalidPatch);
}
