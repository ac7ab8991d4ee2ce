// write_datacard: every field of the struct reaches the text, columns never merge,
// numbers round-trip, and cards Combine would refuse are rejected.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace dc = hifit::datacard;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::vector<std::string> tokens(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string t; in >> t;) out.push_back(t);
    return out;
}

// First line whose first token is `key` (after `skip` earlier matches).
std::vector<std::string> row(const std::string& text, const std::string& key,
                             int skip = 0) {
    for (const auto& line : lines_of(text)) {
        auto t = tokens(line);
        if (!t.empty() && t[0] == key && skip-- == 0) return t;
    }
    return {};
}

std::string line_of(const std::string& text, const std::string& key) {
    for (const auto& line : lines_of(text))
        if (line.rfind(key + " ", 0) == 0) return line;
    return {};
}

dc::Effect sym(double k) {
    return {true, false, 0.0, k};
}
dc::Effect asym(double lo, double hi) {
    return {true, true, lo, hi};
}
dc::Effect none() {
    return {};
}

// PocketCoffea-style card: one bin, per-year columns whose names are much longer than
// the bin name (the case where PocketCoffea's fixed-width writer merges tokens).
dc::Datacard pocket_card() {
    dc::Datacard c;
    c.bins = {"SR_run3"};
    c.observation = {4321.0};
    c.shapes.push_back({"*", "SR_run3", "shapes_SR.root", "$PROCESS_nominal",
                        "$PROCESS_$SYSTEMATIC", 0});
    c.columns = {{"SR_run3", "signal_2022_preEE", 0, 12.3456789},
                 {"SR_run3", "signal_2022_postEE", -1, 3.45679e-05},
                 {"SR_run3", "ttbar_2022_preEE", 1, 1234.5678912345},
                 {"SR_run3", "ttbar_2022_postEE", 2, 0.0}};
    dc::Nuisance lumi{"lumi_2022", dc::NuisanceKind::lnN};
    lumi.effects = {sym(1.014), sym(1.014), sym(1.014), sym(1.014)};
    dc::Nuisance xsec{"xsec", dc::NuisanceKind::lnN};
    xsec.effects = {none(), none(), asym(0.95, 1.05), asym(0.95, 1.05)};
    dc::Nuisance pu{"pileup", dc::NuisanceKind::shape};
    pu.effects = {sym(1.0), sym(1.0), none(), sym(0.5)};
    c.nuisances = {lumi, xsec, pu};
    dc::RateParam sf;
    sf.name = "SF_ttbar";
    sf.bin = "*";
    sf.process = "ttbar_2022_preEE";
    sf.range = std::make_pair(0.0, 5.0);
    c.rate_params.push_back(sf);
    c.auto_mc_stats.push_back({"SR_run3", 0.0, false, 1, 0});
    return c;
}

} // namespace

TEST(DatacardWrite, HeaderCountsAndBlocks) {
    auto text = dc::write_datacard(pocket_card());
    EXPECT_EQ(row(text, "imax"), (std::vector<std::string>{"imax", "1"}));
    EXPECT_EQ(row(text, "jmax"), (std::vector<std::string>{"jmax", "3"}));
    EXPECT_EQ(row(text, "kmax"), (std::vector<std::string>{"kmax", "3"}));
    EXPECT_EQ(row(text, "shapes"),
              (std::vector<std::string>{"shapes", "*", "SR_run3", "shapes_SR.root",
                                        "$PROCESS_nominal", "$PROCESS_$SYSTEMATIC"}));
    EXPECT_EQ(row(text, "observation"),
              (std::vector<std::string>{"observation", "4321"}));
    EXPECT_EQ(row(text, "bin"), (std::vector<std::string>{"bin", "SR_run3"}));
}

TEST(DatacardWrite, ColumnsNeverMerge) {
    auto text = dc::write_datacard(pocket_card());
    EXPECT_EQ(
        row(text, "process", 0),
        (std::vector<std::string>{"process", "signal_2022_preEE", "signal_2022_postEE",
                                  "ttbar_2022_preEE", "ttbar_2022_postEE"}));
    EXPECT_EQ(row(text, "process", 1),
              (std::vector<std::string>{"process", "0", "-1", "1", "2"}));
    EXPECT_EQ(row(text, "bin", 1).size(), 5u);
    EXPECT_EQ(row(text, "xsec"), (std::vector<std::string>{"xsec", "lnN", "-", "-",
                                                           "0.95/1.05", "0.95/1.05"}));
    EXPECT_EQ(row(text, "pileup"),
              (std::vector<std::string>{"pileup", "shape", "1", "1", "-", "0.5"}));
}

TEST(DatacardWrite, ColumnsAreAligned) {
    auto text = dc::write_datacard(pocket_card());
    // Every value of a column starts at the same offset in all rows of the block.
    std::vector<std::string> block = {line_of(text, "process"), line_of(text, "rate"),
                                      line_of(text, "lumi_2022"),
                                      line_of(text, "xsec")};
    auto starts = [](const std::string& line) {
        std::vector<std::size_t> s;
        for (std::size_t i = 0; i < line.size(); ++i)
            if (line[i] != ' ' && (i == 0 || line[i - 1] == ' ')) s.push_back(i);
        return s;
    };
    auto ref = starts(block[0]);
    ASSERT_EQ(ref.size(), 5u);
    for (const auto& line : block) {
        auto s = starts(line);
        // the first token is followed by the (possibly empty) kind cell
        ASSERT_GE(s.size(), 5u) << line;
        for (std::size_t i = 1; i <= 4; ++i)
            EXPECT_EQ(s[s.size() - i], ref[ref.size() - i]) << line;
    }
    // at least two spaces between cells, no trailing blanks
    for (const auto& line : lines_of(text)) {
        EXPECT_TRUE(line.empty() || line.back() != ' ') << line;
    }
}

TEST(DatacardWrite, NumbersRoundTrip) {
    auto c = pocket_card();
    c.columns[0].rate = 0.1 + 0.2;
    c.columns[1].rate = 3.4567891234e-05;
    auto rates = row(dc::write_datacard(c), "rate");
    ASSERT_EQ(rates.size(), 5u);
    EXPECT_EQ(std::strtod(rates[1].c_str(), nullptr), 0.1 + 0.2);
    EXPECT_EQ(std::strtod(rates[2].c_str(), nullptr), 3.4567891234e-05);
    EXPECT_EQ(rates[3], "1234.5678912345");
    EXPECT_EQ(rates[4], "0");
}

TEST(DatacardWrite, ObservationOmittedWhenEmpty) {
    auto c = pocket_card();
    c.observation.clear();
    auto text = dc::write_datacard(c);
    EXPECT_TRUE(row(text, "observation").empty());
    EXPECT_EQ(row(text, "bin").size(), 5u); // only the process block's bin row
}

TEST(DatacardWrite, AllDirectives) {
    dc::Datacard c;
    c.bins = {"A", "B"};
    c.observation = {10, 20};
    c.columns = {{"A", "sig", 0, 1.5}, {"A", "bkg", 1, 4.0}, {"B", "bkg", 1, 8.0}};
    dc::Nuisance g{"WW_norm", dc::NuisanceKind::gmN};
    g.gmn_events = 4;
    g.effects = {none(), sym(1.0), sym(2.0)};
    dc::Nuisance so{"jes", dc::NuisanceKind::shape_optional};
    so.effects = {sym(1), asym(0.9, 1.1), none()};
    so.nofloat = true;
    dc::Nuisance lu{"flat", dc::NuisanceKind::lnU};
    lu.effects = {none(), sym(2.0), none()};
    dc::Nuisance p1{"beta", dc::NuisanceKind::param};
    p1.mean = 1.0;
    p1.sigma_lo = p1.sigma_hi = 0.1;
    dc::Nuisance p2{"gamma", dc::NuisanceKind::param};
    p2.sigma_lo = 0.5;
    p2.sigma_hi = 1.5;
    p2.range = std::make_pair(-3.0, 3.0);
    for (auto kind : {dc::NuisanceKind::shapeN, dc::NuisanceKind::shapeU}) {
        dc::Nuisance s{kind == dc::NuisanceKind::shapeN ? "sN" : "sU", kind};
        s.effects = {sym(1), none(), none()};
        c.nuisances.push_back(s);
    }
    c.nuisances.insert(c.nuisances.begin(), {g, so, lu, p1, p2});
    dc::RateParam plain{"rB", "B", "bkg", 50.0, {}, {}, {}, 0};
    dc::RateParam ranged{"rA", "A", "bkg", 1.0, std::make_pair(0.0, 5.0), {}, {}, 0};
    dc::RateParam formula{"alpha", "A", "sig", 1.0, {}, "@0*@1", {"rA", "rB"}, 0};
    dc::RateParam wrapped{"delta", "*", "*", 1.0, {}, "(@0)*(@0)", {"rA"}, 0};
    c.rate_params = {plain, ranged, formula, wrapped};
    c.ext_args = {{"ext", 2.5, std::make_pair(0.0, 10.0), 0}, {"ext2", 1.0, {}, 0}};
    c.auto_mc_stats = {{"*", 10, true, 2, 0}};
    c.groups = {{"theory", {"WW_norm", "jes"}}};
    auto text = dc::write_datacard(c, "first line\nsecond line");

    using V = std::vector<std::string>;
    auto all = lines_of(text);
    EXPECT_EQ(all[0], "# first line");
    EXPECT_EQ(all[1], "# second line");
    EXPECT_EQ(row(text, "imax"), (V{"imax", "2"}));
    EXPECT_EQ(row(text, "jmax"), (V{"jmax", "1"}));
    EXPECT_EQ(row(text, "kmax"), (V{"kmax", "7"}));
    EXPECT_EQ(row(text, "observation"), (V{"observation", "10", "20"}));
    EXPECT_EQ(row(text, "WW_norm"), (V{"WW_norm", "gmN", "4", "-", "1", "2"}));
    EXPECT_EQ(row(text, "jes[nofloat]"),
              (V{"jes[nofloat]", "shape?", "1", "0.9/1.1", "-"}));
    EXPECT_EQ(row(text, "flat"), (V{"flat", "lnU", "-", "2", "-"}));
    EXPECT_EQ(row(text, "beta"), (V{"beta", "param", "1", "0.1"}));
    EXPECT_EQ(row(text, "gamma"), (V{"gamma", "param", "0", "-0.5/+1.5", "[-3,3]"}));
    EXPECT_EQ(row(text, "sN"), (V{"sN", "shapeN", "1", "-", "-"}));
    EXPECT_EQ(row(text, "sU"), (V{"sU", "shapeU", "1", "-", "-"}));
    EXPECT_EQ(row(text, "rB"), (V{"rB", "rateParam", "B", "bkg", "50"}));
    EXPECT_EQ(row(text, "rA"), (V{"rA", "rateParam", "A", "bkg", "1", "[0,5]"}));
    EXPECT_EQ(row(text, "alpha"),
              (V{"alpha", "rateParam", "A", "sig", "(@0*@1)", "rA,rB"}));
    EXPECT_EQ(row(text, "delta"),
              (V{"delta", "rateParam", "*", "*", "((@0)*(@0))", "rA"}));
    EXPECT_EQ(row(text, "ext"), (V{"ext", "extArg", "2.5", "[0,10]"}));
    EXPECT_EQ(row(text, "ext2"), (V{"ext2", "extArg", "1"}));
    EXPECT_EQ(row(text, "*"), (V{"*", "autoMCStats", "10", "1", "2"}));
    EXPECT_EQ(row(text, "theory"), (V{"theory", "group", "=", "WW_norm", "jes"}));
}

TEST(DatacardWrite, FakeShapesLine) {
    dc::Datacard c;
    c.bins = {"ch"};
    c.columns = {{"ch", "s", 0, 1.0}};
    c.shapes.push_back({"*", "*", "FAKE", "", "", 0});
    EXPECT_EQ(row(dc::write_datacard(c), "shapes"),
              (std::vector<std::string>{"shapes", "*", "*", "FAKE"}));
}

TEST(DatacardWrite, BinsFromColumnsWhenUndeclared) {
    dc::Datacard c;
    c.columns = {{"a", "s", 0, 1.0}, {"b", "s", 0, 1.0}};
    EXPECT_EQ(row(dc::write_datacard(c), "imax"),
              (std::vector<std::string>{"imax", "2"}));
}

TEST(DatacardWrite, RejectsCardsCombineRefuses) {
    auto digit = pocket_card();
    digit.bins = {"1btag"};
    for (auto& col : digit.columns) col.bin = "1btag";
    try {
        dc::write_datacard(digit);
        FAIL() << "expected an error";
    } catch (const hifit::InvalidArgument& e) {
        EXPECT_NE(std::string(e.what()).find("'1btag' starts with a digit"),
                  std::string::npos);
    }
    auto space = pocket_card();
    space.columns[0].process = "tt bar";
    EXPECT_THROW(dc::write_datacard(space), hifit::InvalidArgument);
    auto short_row = pocket_card();
    short_row.nuisances[0].effects.pop_back();
    EXPECT_THROW(dc::write_datacard(short_row), hifit::InvalidArgument);
    auto obs = pocket_card();
    obs.observation = {1, 2};
    EXPECT_THROW(dc::write_datacard(obs), hifit::InvalidArgument);
    auto undeclared = pocket_card();
    undeclared.columns[0].bin = "other";
    EXPECT_THROW(dc::write_datacard(undeclared), hifit::InvalidArgument);
    auto nan = pocket_card();
    nan.columns[0].rate = std::nan("");
    EXPECT_THROW(dc::write_datacard(nan), hifit::InvalidArgument);
}
