// Datacard parser, shapes lookup and card combination, on Combine's own CI and tutorial
// cards (../shared/data/combine) and on small cards written here.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace dc = hifit::datacard;

namespace {

const std::string data_dir = std::string(HIFIT_SHARED_DATA) + "/combine/";

dc::Datacard card(const std::string& rel) {
    return dc::read_datacard(data_dir + rel);
}

const dc::Nuisance& row(const dc::Datacard& c, const std::string& name) {
    auto it = std::find_if(c.nuisances.begin(), c.nuisances.end(),
                           [&](const dc::Nuisance& n) { return n.name == name; });
    if (it == c.nuisances.end()) throw std::runtime_error("no nuisance " + name);
    return *it;
}

bool has_row(const dc::Datacard& c, const std::string& name) {
    return std::any_of(c.nuisances.begin(), c.nuisances.end(),
                       [&](const dc::Nuisance& n) { return n.name == name; });
}

std::size_t column(const dc::Datacard& c, const std::string& bin,
                   const std::string& process) {
    for (std::size_t i = 0; i < c.columns.size(); ++i)
        if (c.columns[i].bin == bin && c.columns[i].process == process) return i;
    throw std::runtime_error("no column " + bin + "/" + process);
}

// The message of the InvalidSpec thrown by parsing `text` as "t.txt".
std::string parse_error(const std::string& text) {
    try {
        dc::parse_datacard(text, "t.txt");
    } catch (const hifit::InvalidSpec& e) {
        return e.what();
    }
    return "<no error>";
}

// A one-bin, two-process counting card with `rows` appended.
std::string small(const std::string& rows, const std::string& kmax = "*") {
    return "imax 1\njmax 1\nkmax " + kmax +
           "\n"
           "bin ch\n"
           "observation 10\n"
           "bin ch ch\n"
           "process sig bkg\n"
           "process 0 1\n"
           "rate 2 8\n" +
           rows;
}

const char* all_cards[] = {
    "ci/htt_multiple_regions.txt",
    "ci/template-analysis_shapeInterp.txt",
    "ci/template-analysis_shapeInterp_womcstats.txt",
    "ci/template-analysis_shapeNInterp.txt",
    "ci/template-analysis_shape_autoMCStats.txt",
    "tutorials/CAT23001/datacard-1-counting-experiment.txt",
    "tutorials/CAT23001/datacard-2-template-analysis.txt",
    "tutorials/CAT23001/datacard-4-abcd.txt",
    "tutorials/CAT23001/datacard-5-multi-signal.txt",
    "tutorials/CAT23001/default-physics-model-datacard.txt",
    "tutorials/counting/realistic-counting-experiment.txt",
    "tutorials/counting/realistic-multi-channel.txt",
    "tutorials/counting/simple-counting-experiment.txt",
    "tutorials/groups/groupnuisA.txt",
    "tutorials/groups/groupnuisB.txt",
    "tutorials/multiDim/toy-hgg-125.txt",
    "tutorials/rate_params/dimuon_control_region.txt",
    "tutorials/rate_params/signal_region.txt",
    "tutorials/rate_params/singlemuon_control_region.txt",
    "tutorials/shapes/simple-shapes-TH1.txt",
    "tutorials/statistical_routines_tutorial/datacard.txt",
    "tutorials/statistical_routines_tutorial/datacard_lowbackground.txt",
    "tutorials/statistical_routines_tutorial/datacard_obs12.txt",
    "tutorials/statistical_routines_tutorial/datacard_underfluctuation.txt",
};

} // namespace

// ---- shared cards -------------------------------------------------------------------

TEST(DatacardParse, EverySharedCardParses) {
    for (const char* rel : all_cards) {
        SCOPED_TRACE(rel);
        dc::Datacard c = card(rel);
        EXPECT_EQ(c.source, data_dir + rel);
        EXPECT_FALSE(c.bins.empty());
        EXPECT_FALSE(c.columns.empty());
        EXPECT_EQ(c.observation.size(), c.bins.size());
        for (const auto& n : c.nuisances)
            if (n.kind != dc::NuisanceKind::param)
                EXPECT_EQ(n.effects.size(), c.columns.size());
    }
}

TEST(DatacardParse, DigitLeadingBinIsRejectedLikeCombine) {
    // Combine: "Error: Bin 0j starts with a digit!"
    try {
        card("tutorials/counting/simple-multi-channel.txt");
        FAIL() << "no error";
    } catch (const hifit::InvalidSpec& e) {
        EXPECT_EQ(std::string(e.what()),
                  data_dir +
                      "tutorials/counting/simple-multi-channel.txt:8: expected a bin "
                      "name not starting with a digit, found '0j'");
    }
}

TEST(DatacardParse, ShapeInterpCard) {
    auto c = card("ci/template-analysis_shapeInterp.txt");
    ASSERT_EQ(c.bins, std::vector<std::string>{"htt_tt_9_13TeV"});
    EXPECT_EQ(c.observation, std::vector<double>{3416.0});
    EXPECT_EQ(c.processes(), (std::vector<std::string>{"ZL", "TTT", "VVT", "ZTT",
                                                       "jetFakes", "ggH", "bbH"}));
    EXPECT_TRUE(c.is_signal("ggH"));
    EXPECT_TRUE(c.is_signal("bbH"));
    EXPECT_FALSE(c.is_signal("ZL"));
    EXPECT_EQ(c.columns[5].process_id, -1);
    EXPECT_DOUBLE_EQ(c.columns[6].rate, 198.521);
    ASSERT_EQ(c.shapes.size(), 3u);
    EXPECT_EQ(c.shapes[1].process, "bbH");
    EXPECT_EQ(c.shapes[1].nominal, "htt_tt_9_13TeV/bbH$MASS");
    EXPECT_EQ(c.shapes[1].systematic, "htt_tt_9_13TeV/bbH$MASS_$SYSTEMATIC");
    EXPECT_EQ(c.shapes[1].line, 7);
    EXPECT_EQ(c.nuisances.size(), 70u);
    auto lnn = std::count_if(c.nuisances.begin(), c.nuisances.end(), [](const auto& n) {
        return n.kind == dc::NuisanceKind::lnN;
    });
    EXPECT_EQ(lnn, 17);

    const auto& eff_b = row(c, "CMS_eff_b_13TeV");
    EXPECT_EQ(eff_b.line, 18);
    EXPECT_FALSE(eff_b.effects[0].active);
    EXPECT_TRUE(eff_b.effects[1].active);
    EXPECT_TRUE(eff_b.effects[1].asymmetric);
    EXPECT_DOUBLE_EQ(eff_b.effects[1].lo, 0.99);
    EXPECT_DOUBLE_EQ(eff_b.effects[1].hi, 1.01);
    const auto& shape = row(c, "CMS_eff_t_mssmHigh_tt_13TeV");
    EXPECT_EQ(shape.kind, dc::NuisanceKind::shape);
    EXPECT_FALSE(shape.effects[0].active);
    EXPECT_TRUE(shape.effects[1].active);
    EXPECT_DOUBLE_EQ(shape.effects[1].hi, 1.0);

    ASSERT_EQ(c.rate_params.size(), 2u);
    EXPECT_EQ(c.rate_params[0].name, "rate_TT");
    EXPECT_EQ(c.rate_params[0].bin, "*");
    EXPECT_EQ(c.rate_params[0].process, "TTT");
    EXPECT_DOUBLE_EQ(c.rate_params[0].init, 1.0);
    ASSERT_TRUE(c.rate_params[0].range);
    EXPECT_EQ(*c.rate_params[0].range, std::make_pair(0.0, 5.0));
    EXPECT_DOUBLE_EQ(c.rate_params[1].init, 1.02);
    EXPECT_EQ(*c.rate_params[1].range, std::make_pair(0.8, 1.2));
    EXPECT_TRUE(c.rate_params[0].formula.empty());

    ASSERT_EQ(c.auto_mc_stats.size(), 1u);
    EXPECT_EQ(c.auto_mc_stats[0].bin, "*");
    EXPECT_DOUBLE_EQ(c.auto_mc_stats[0].threshold, 0.0);
    EXPECT_FALSE(c.auto_mc_stats[0].include_signal);
    EXPECT_EQ(c.auto_mc_stats[0].hist_mode, 1);
    EXPECT_EQ(c.auto_mc_stats[0].line, 90);

    EXPECT_TRUE(
        card("ci/template-analysis_shapeInterp_womcstats.txt").auto_mc_stats.empty());
    auto n = card("ci/template-analysis_shapeNInterp.txt");
    EXPECT_EQ(row(n, "CMS_eff_t_mssmHigh_tt_13TeV").kind, dc::NuisanceKind::shapeN);
}

TEST(DatacardParse, ReducedAutoMCStatsCardHasMinusOneRates) {
    auto c = card("ci/template-analysis_shape_autoMCStats.txt");
    EXPECT_DOUBLE_EQ(c.columns[5].rate, -1.0);
    EXPECT_DOUBLE_EQ(c.columns[6].rate, -1.0);
    EXPECT_EQ(c.nuisances.size(), 1u);
    EXPECT_EQ(c.shapes[2].nominal, "htt_tt_9_13TeV/ggH120");
}

TEST(DatacardParse, MultipleRegions) {
    auto c = card("ci/htt_multiple_regions.txt");
    EXPECT_EQ(c.bins, (std::vector<std::string>{"htt_tt_0_8TeV", "htt_tt_1_8TeV",
                                                "htt_tt_2_8TeV"}));
    EXPECT_EQ(c.observation, (std::vector<double>{1120.0, 366.0, 34.0}));
    EXPECT_EQ(c.processes().size(), 11u);
    EXPECT_EQ(c.shapes.size(), 15u);
    EXPECT_EQ(c.nuisances.size(), 66u); // kmax 66
    EXPECT_EQ(c.columns[0].process, "ZH");
    EXPECT_EQ(c.columns[0].process_id, -3);
    EXPECT_DOUBLE_EQ(c.columns[0].rate, 0.6295);
}

TEST(DatacardParse, AbcdFormulaRateParam) {
    auto c = card("tutorials/CAT23001/datacard-4-abcd.txt");
    EXPECT_EQ(c.bins, (std::vector<std::string>{"B", "C", "D", "A"}));
    EXPECT_EQ(c.observation, (std::vector<double>{50, 100, 500, 16}));
    EXPECT_EQ(c.columns.size(), 5u);
    EXPECT_EQ(c.processes(), (std::vector<std::string>{"bkg", "sig"}));
    ASSERT_EQ(c.rate_params.size(), 4u);
    const auto& alpha = c.rate_params[0];
    EXPECT_EQ(alpha.name, "alpha");
    EXPECT_EQ(alpha.bin, "A");
    EXPECT_EQ(alpha.process, "bkg");
    EXPECT_EQ(alpha.formula, "(@0*@1/@2)");
    EXPECT_EQ(alpha.args, (std::vector<std::string>{"beta", "gamma", "delta"}));
    EXPECT_EQ(c.rate_params[1].name, "beta");
    EXPECT_DOUBLE_EQ(c.rate_params[1].init, 50.0);
    EXPECT_FALSE(c.rate_params[1].range);
    EXPECT_DOUBLE_EQ(c.rate_params[3].init, 500.0);
    EXPECT_EQ(c.nuisances.size(), 2u);
}

TEST(DatacardParse, CountingCardsWithGmN) {
    auto c = card("tutorials/CAT23001/datacard-1-counting-experiment.txt");
    EXPECT_FALSE(c.has_shapes());
    ASSERT_EQ(c.nuisances.size(), 3u);
    const auto& gmn = row(c, "nWW");
    EXPECT_EQ(gmn.kind, dc::NuisanceKind::gmN);
    EXPECT_DOUBLE_EQ(gmn.gmn_events, 4.0);
    EXPECT_FALSE(gmn.effects[0].active);
    EXPECT_TRUE(gmn.effects[1].active);
    EXPECT_DOUBLE_EQ(gmn.effects[1].hi, 0.16);
    EXPECT_FALSE(gmn.effects[2].active);
    const auto& lumi = row(c, "lumi");
    for (const auto& e : lumi.effects) EXPECT_DOUBLE_EQ(e.hi, 1.11);

    auto r = card("tutorials/counting/realistic-counting-experiment.txt");
    EXPECT_EQ(r.nuisances.size(), 5u);
    EXPECT_DOUBLE_EQ(row(r, "WW_norm").gmn_events, 4.0);
    EXPECT_DOUBLE_EQ(row(r, "WW_norm").effects[1].hi, 0.16);
    EXPECT_DOUBLE_EQ(row(r, "bg_others").effects[3].hi,
                     1.30); // free text after the columns
    EXPECT_EQ(r.observation, std::vector<double>{0.0});
}

TEST(DatacardParse, Groups) {
    auto c = card("tutorials/groups/groupnuisA.txt");
    ASSERT_EQ(c.groups.size(), 6u);
    EXPECT_EQ(c.groups[0].name, "theo");
    EXPECT_EQ(c.groups[0].members,
              (std::vector<std::string>{"theo_bkgww", "theo_ggH"}));
    EXPECT_EQ(c.groups[5].name, "equals");
    EXPECT_EQ(c.groups[5].members, (std::vector<std::string>{"lumi", "MCstatww"}));
    EXPECT_DOUBLE_EQ(row(c, "exp_systww").effects[1].hi, 1.05); // tabs in the card
}

TEST(DatacardParse, ShapeScaleAndNoEffectLnN) {
    auto c = card("tutorials/shapes/simple-shapes-TH1.txt");
    EXPECT_DOUBLE_EQ(row(c, "sigma").effects[0].hi, 0.5);
    EXPECT_FALSE(row(c, "lumi").effects[1].active); // 1.0 has no effect
    EXPECT_FALSE(row(c, "bgnorm").effects[0].active);
    EXPECT_EQ(c.shapes[0].process, "*");
    EXPECT_EQ(c.shapes[0].channel, "*");
}

TEST(DatacardParse, FakeShapesAndNegativeIds) {
    auto c = card("tutorials/CAT23001/datacard-5-multi-signal.txt");
    EXPECT_EQ(c.bins, (std::vector<std::string>{"incl", "dijet"}));
    ASSERT_EQ(c.shapes.size(), 2u);
    EXPECT_EQ(c.shapes[0].file, "FAKE");
    EXPECT_EQ(c.shapes[0].channel, "dijet");
    EXPECT_TRUE(c.is_signal("ggH_hgg"));
    EXPECT_TRUE(c.is_signal("qqH_hgg"));
    EXPECT_FALSE(c.is_signal("bkg"));
}

TEST(DatacardParse, CardWithoutImaxAndRateParamPerBin) {
    auto c = card("tutorials/multiDim/toy-hgg-125.txt");
    EXPECT_EQ(c.bins, (std::vector<std::string>{"incl", "dijet"}));
    EXPECT_EQ(c.nuisances.size(), 4u); // commented rows skipped
    auto r = card("tutorials/rate_params/signal_region.txt");
    EXPECT_EQ(r.observation, std::vector<double>{-1.0});
    EXPECT_EQ(r.rate_params.size(), 2u);
    EXPECT_EQ(r.shapes[0].process, "data_obs");
}

// ---- the directive types, on small cards --------------------------------------------

TEST(DatacardParse, AllRowTypes) {
    auto c = dc::parse_datacard(small("a lnN 0.9/1.1 -\n"
                                      "b lnU 2 -\n"
                                      "c shapeU - 1\n"
                                      "d shape? 1.2 0.8/1.3\n"
                                      "e shapeN 0.5 0\n"
                                      "f gmN 0 - 0.5\n"
                                      "12 lnN 1.05 1.05\n"
                                      "g[nofloat] lnN 1.1 -\n"
                                      "p param 0.5 0.1\n"
                                      "q param 1 -0.2/+0.3 [0,3]\n"
                                      "x extArg 2.5 [0,10]\n"
                                      "y extArg 1\n"
                                      "* autoMCStats 10 1 2\n"));
    EXPECT_EQ(row(c, "a").kind, dc::NuisanceKind::lnN);
    EXPECT_DOUBLE_EQ(row(c, "a").effects[0].lo, 0.9);
    EXPECT_EQ(row(c, "b").kind, dc::NuisanceKind::lnU);
    EXPECT_EQ(row(c, "c").kind, dc::NuisanceKind::shapeU);
    EXPECT_EQ(row(c, "d").kind, dc::NuisanceKind::shape_optional);
    EXPECT_TRUE(row(c, "d").effects[1].asymmetric);
    EXPECT_EQ(row(c, "e").kind, dc::NuisanceKind::shapeN);
    EXPECT_FALSE(row(c, "e").effects[1].active);
    EXPECT_DOUBLE_EQ(row(c, "f").gmn_events, 0.0);
    EXPECT_TRUE(has_row(c, "theta12"));
    EXPECT_TRUE(row(c, "g").nofloat);
    EXPECT_FALSE(row(c, "a").nofloat);
    const auto& p = row(c, "p");
    EXPECT_EQ(p.kind, dc::NuisanceKind::param);
    EXPECT_TRUE(p.effects.empty());
    EXPECT_DOUBLE_EQ(p.mean, 0.5);
    EXPECT_DOUBLE_EQ(p.sigma_lo, 0.1);
    EXPECT_DOUBLE_EQ(p.sigma_hi, 0.1);
    EXPECT_FALSE(p.range);
    const auto& q = row(c, "q");
    EXPECT_DOUBLE_EQ(q.sigma_lo, 0.2);
    EXPECT_DOUBLE_EQ(q.sigma_hi, 0.3);
    EXPECT_EQ(*q.range, std::make_pair(0.0, 3.0));
    ASSERT_EQ(c.ext_args.size(), 2u);
    EXPECT_DOUBLE_EQ(c.ext_args[0].init, 2.5);
    EXPECT_EQ(*c.ext_args[0].range, std::make_pair(0.0, 10.0));
    EXPECT_FALSE(c.ext_args[1].range);
    EXPECT_TRUE(c.auto_mc_stats[0].include_signal);
    EXPECT_EQ(c.auto_mc_stats[0].hist_mode, 2);
    EXPECT_EQ(std::string(dc::to_string(dc::NuisanceKind::shape_optional)), "shape?");
    EXPECT_EQ(std::string(dc::to_string(dc::NuisanceKind::gmN)), "gmN");
}

TEST(DatacardParse, GmNOnZeroRateGetsEpsilonRate) {
    auto c = dc::parse_datacard("bin ch\nobservation 1\nbin ch ch\nprocess s b\n"
                                "process 0 1\nrate 1 0\nn gmN 0 - 0.3\n");
    EXPECT_DOUBLE_EQ(c.columns[1].rate, 1e-6);
}

TEST(DatacardParse, RowsWithoutEffectAreDroppedAndStillCountForKmax) {
    auto c = dc::parse_datacard(small("a lnN 1.0 -\nb lnN - 1.1\nc shape 0 0\n", "3"));
    ASSERT_EQ(c.nuisances.size(), 1u);
    EXPECT_EQ(c.nuisances[0].name, "b");
    // a group keeps only members that exist
    auto g = dc::parse_datacard(small("a lnN 1.0 -\nb lnN - 1.1\ng group = a b\n"));
    ASSERT_EQ(g.groups.size(), 1u);
    EXPECT_EQ(g.groups[0].members, std::vector<std::string>{"b"});
    // an effect only on a zero-rate column is no effect
    auto z = dc::parse_datacard("bin ch\nobservation 1\nbin ch ch\nprocess s b\n"
                                "process 0 1\nrate 1 0\nn lnN - 1.2\n");
    EXPECT_TRUE(z.nuisances.empty());
}

TEST(DatacardParse, ProcessLinesInEitherOrder) {
    auto c = dc::parse_datacard("bin ch\nobservation 1\nbin ch ch\nprocess 1 0\n"
                                "process bkg sig\nrate 1 2\n");
    EXPECT_EQ(c.columns[0].process, "bkg");
    EXPECT_EQ(c.columns[0].process_id, 1);
    EXPECT_TRUE(c.is_signal("sig"));
}

TEST(DatacardParse, RateParamForms) {
    auto c = dc::parse_datacard(small("r1 rateParam ch bkg 1.5\n"
                                      "r2 rateParam * b* 2 [0,5]\n"
                                      "r3 rateParam ch sig (@0*2) r1\n"
                                      "r4 rateParam ch sig (3)\n"
                                      "r4 rateParam ch bkg (3)\n"));
    ASSERT_EQ(c.rate_params.size(), 5u);
    EXPECT_DOUBLE_EQ(c.rate_params[0].init, 1.5);
    EXPECT_FALSE(c.rate_params[0].range);
    EXPECT_EQ(c.rate_params[1].process, "b*");
    EXPECT_EQ(c.rate_params[2].formula, "(@0*2)");
    EXPECT_EQ(c.rate_params[2].args, std::vector<std::string>{"r1"});
    EXPECT_TRUE(c.rate_params[3].args.empty());
}

TEST(DatacardParse, NuisanceEdit) {
    auto c = dc::parse_datacard(small("a lnN 1.1 1.2\n"
                                      "b lnN 1.3 -\n"
                                      "s shape 1 1\n"
                                      "g group = a b\n"
                                      "nuisance edit rename b b2\n"
                                      "nuisance edit rename bkg ch a a_bkg\n"
                                      "nuisance edit drop sig .* s\n"
                                      "nuisance edit drop * * missing ifexists\n"
                                      "nuisance edit add * ch new lnN 1.05\n"
                                      "nuisance edit add s.g * a lnN 1.2 addq\n"
                                      "nuisance edit changepdf s shapeN\n"
                                      "nuisance edit freeze b2\n",
                                      "17"));
    EXPECT_FALSE(has_row(c, "b"));
    EXPECT_TRUE(row(c, "b2").nofloat);
    EXPECT_EQ(c.groups[0].members, (std::vector<std::string>{"a", "b2"}));
    EXPECT_FALSE(row(c, "a").effects[1].active);
    EXPECT_DOUBLE_EQ(row(c, "a_bkg").effects[1].hi, 1.2);
    EXPECT_FALSE(row(c, "s").effects[0].active);
    EXPECT_EQ(row(c, "s").kind, dc::NuisanceKind::shapeN);
    EXPECT_DOUBLE_EQ(row(c, "new").effects[0].hi, 1.05);
    EXPECT_DOUBLE_EQ(row(c, "new").effects[1].hi, 1.05);
    double q = std::exp(std::hypot(std::log(1.1), std::log(1.2)));
    EXPECT_NEAR(row(c, "a").effects[0].hi, q, 1e-12);

    // dropping every effect removes the row
    auto d = dc::parse_datacard(small("a lnN 1.1 -\nnuisance edit drop * * a\n"));
    EXPECT_TRUE(d.nuisances.empty());
}

// ---- errors -------------------------------------------------------------------------

TEST(DatacardParse, ErrorsNameFileLineAndToken) {
    struct Case {
        std::string text, message;
    };
    const std::vector<Case> cases = {
        {small("a lnN nan -\n"), "t.txt:10: expected a number or '-', found 'nan'"},
        {small("a lnN 1.1 inf\n"), "t.txt:10: expected a number or '-', found 'inf'"},
        {small("a lnN 1.1 1e999\n"),
         "t.txt:10: expected a number or '-', found '1e999'"},
        {small("a lnN 1.1x -\n"), "t.txt:10: expected a number or '-', found '1.1x'"},
        {small("a lnN -0.5 -\n"),
         "t.txt:10: expected a value >= 0 (or '-'), found '-0.5'"},
        {small("a lnN 0/1.1 -\n"),
         "t.txt:10: expected 'down/up' with positive numbers, found '0/1.1'"},
        {small("a shape 0.9/1.1 -\n"),
         "t.txt:10: expected a single value (asymmetric 'down/up' is only allowed for "
         "lnN, "
         "lnU and shape?), not for shape, found '0.9/1.1'"},
        {small("a lnN 1.1\n"), "t.txt:10: expected 2 values after 'lnN' (one per "
                               "column), found '<end of line>'"},
        {small("a lnN 1.1 -\na lnN 1.2 -\n"),
         "t.txt:11: expected one row per nuisance; 'a' is already defined on line 10, "
         "found 'a'"},
        {small("a shape 1 -\na lnN 1.2 -\n"),
         "t.txt:11: expected one row per nuisance; 'a' is shape on line 10 (use one "
         "'shape?' row for shape and lnN effects), found 'a'"},
        {small("a lnN 1.1 -\n", "2"),
         "t.txt:3: expected kmax to be 1 (the number of nuisance rows), found '2'"},
        {small("a lognormal 1.1 -\n"),
         "t.txt:10: expected a directive type (lnN, lnU, gmN, shape, shape?, shapeN, "
         "shapeU, param, rateParam, extArg, autoMCStats, group, or 'nuisance edit'), "
         "found "
         "'lognormal'"},
        {small("a flatParam\n"), "t.txt:10: expected a supported directive "
                                 "('flatParam' is valid Combine syntax but "
                                 "is not supported by hifit), found 'flatParam'"},
        {small("r rateParam ch bkg ws.root:w\n"),
         "t.txt:10: expected an initial value or a formula (rateParam imports from a "
         "workspace 'file.root:ws' are not supported), found 'ws.root:w'"},
        {small("r rateParam ch bkg (@0*@1) a\n"),
         "t.txt:10: expected formula indices below 1 (the number of arguments), found "
         "'@1'"},
        {small("r rateParam nope bkg 1\n"),
         "t.txt:10: expected a bin of the card, found 'nope'"},
        {small("r rateParam ch bkg 1 [5,0]\n"),
         "t.txt:10: expected a range with lo <= hi, found '[5,0]'"},
        {small("x extArg ws.root:w\n"),
         "t.txt:10: expected an initial value (extArg imports from a workspace "
         "'file.root:ws' are not supported), found 'ws.root:w'"},
        {small("p param 1\n"),
         "t.txt:10: expected 'param <mean> <sigma> [range]', found "
         "'<end of line>'"},
        {small("p param 1 -1\n"), "t.txt:10: expected a positive sigma, found '-1'"},
        {small("g group = a\ng group = b\n"),
         "t.txt:11: expected a new group ('=' redefines group 'g'), found '='"},
        {small("g group += a\n"),
         "t.txt:10: expected group 'g' to be defined with '=' before '+=', found '+='"},
        {small("g group - a\n"),
         "t.txt:10: expected '=' or '+=' after 'group', found '-'"},
        {small("a lnN 1.1 -\ng group = a b\n"),
         "t.txt:11: expected the name of a nuisance in group 'g', found 'b'"},
        {small("* autoMCStats 10 0 3\n"),
         "t.txt:10: expected hist_mode 1 or 2, found '3'"},
        {small("* autoMCStats x\n"),
         "t.txt:10: expected a threshold (number), found 'x'"},
        {small("nuisance edit drop * * zz\n"),
         "t.txt:10: expected the name of a nuisance to drop, found 'zz'"},
        {small("nuisance edit drop ( * zz\n"),
         "t.txt:10: expected the name of a nuisance to drop, found 'zz'"},
        {small("a lnN 1.1 -\nnuisance edit drop ( * a\n"),
         "t.txt:11: expected a valid regular expression, found '('"},
        {small("a lnN 1.1 -\nnuisance edit split * * a b c 1 2\n"),
         "t.txt:11: expected a supported edit action ('split' is not supported by "
         "hifit), "
         "found 'split'"},
        {small("a lnN 1.1 -\nnuisance edit changepdf a shape\n"),
         "t.txt:11: expected a pdf compatible with lnN (lnN/lnU, or "
         "shape/shape?/shapeN/shapeU), found 'shape'"},
        {small("a lnN 1.1 -\nnuisance edit add * * a lnN 1.2\n"),
         "t.txt:11: expected no existing effect of 'a' on sig in ch (add 'overwrite' "
         "or "
         "'addq'), found '1.2'"},
        {"imax 2\nbin ch\nobservation 1\nbin ch\nprocess s\nprocess 0\nrate 1\n",
         "t.txt:1: expected imax to be 1 (the number of bins), found '2'"},
        {"jmax 0\nbin ch\nobservation 1\nbin ch ch\nprocess s b\nprocess 0 1\nrate 1 "
         "1\n",
         "t.txt:1: expected jmax to be 1 (the number of processes minus 1), found '0'"},
        {"imax x\n", "t.txt:1: expected a number or '*' after 'imax', found 'x'"},
        {"bin a b\nobservation 1\n", "t.txt:2: expected 2 observations (one per bin of "
                                     "the 'bin' line on line 1), found "
                                     "'<end of line>'"},
        {"bin a\nobservation 1 2\n", "t.txt:2: expected 1 observations (one per bin of "
                                     "the 'bin' line on line 1), found "
                                     "'2'"},
        {"bin a\nobservation -3\n",
         "t.txt:2: expected an observed count >= 0 (or -1), found '-3'"},
        {"bin a\nobservation 1\nbin a a\nprocess s\n",
         "t.txt:4: expected 2 processes (one per column of the 'bin' line on line 3), "
         "found "
         "'<end of line>'"},
        {"bin a\nobservation 1\nbin a\nprocess s\nprocess 0.5\nrate 1\n",
         "t.txt:5: expected an integer process id, found '0.5'"},
        {"bin a\nobservation 1\nbin a\nprocess s\nprocess 0\nrate -2\n",
         "t.txt:6: expected a rate >= 0 (or -1: the template's integral), found '-2'"},
        {"bin a\nobservation 1\nbin a\nprocess s\nprocess 0\nrate 1 2\n",
         "t.txt:6: expected 1 rates (one per column of the 'bin' line), found '2'"},
        {"bin a\nobservation 1\nbin b\nprocess s\nprocess 0\nrate 1\n",
         "t.txt:3: expected a bin of the 'observation' line, found 'b'"},
        {"bin a\nobservation 1\nbin a a\nprocess s s\nprocess 0 0\nrate 1 1\n",
         "t.txt:4: expected each process once per bin ('s' appears twice in bin 'a'), "
         "found "
         "'s'"},
        {"bin a b\nobservation 1 1\nbin a b\nprocess s s\nprocess 0 1\nrate 1 1\n",
         "t.txt:5: expected process 's' to be signal (id <= 0) or background (id > 0) "
         "in "
         "every bin, found '1'"},
        {"bin a\nobservation 1\nbin a\nprocess s\nrate 1\n",
         "t.txt:5: expected two 'process' lines (names and ids) before 'rate', found "
         "'rate'"},
        {"bin a\nobservation 1\n",
         "t.txt:3: expected a 'rate' line (the end of the process "
         "block), found '<end of line>'"},
        {"shapes * * f.root\n", "t.txt:1: expected 'shapes <process> <channel> <file> "
                                "<object> [<syst>]', found "
                                "'<end of line>'"},
        {"shapes * * f.root a b\nshapes * * g.root a b\n",
         "t.txt:2: expected one shapes line per (process, channel); line 1 already "
         "maps '*' "
         "in '*', found '*'"},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_error(c.text), c.message) << c.text;
}

TEST(DatacardParse, ReadErrors) {
    EXPECT_THROW(dc::read_datacard(data_dir + "no-such-card.txt"), hifit::InvalidSpec);
    EXPECT_THROW(dc::parse_datacard(""), hifit::InvalidSpec);
    EXPECT_EQ(
        parse_error(std::string("bin a\0b", 7)),
        "t.txt:1: expected a 'rate' line (the end of the process block) (the file ends "
        "inside this line without a newline: is it truncated?), found '<end of line>'");
}

// Nothing of a row is dropped silently: a lone name, missing values, one value too
// many (free text after the values stays a comment, as in Combine's tutorials) and a
// card cut inside its last line are errors naming the line.
TEST(DatacardParse, IncompleteRowsAreErrors) {
    const std::string values = "expected 2 values after 'lnN' (one per column";
    const std::string cut =
        " (the file ends inside this line without a newline: is it truncated?)";
    struct Case {
        std::string text, message;
    };
    const std::vector<Case> cases = {
        {small("lumi\n"),
         "t.txt:10: expected a directive type (and its values) after 'lumi', found "
         "'<end of line>'"},
        {small("lumi lnN\n"), "t.txt:10: " + values + "), found '<end of line>'"},
        {small("lumi lnN 1.1\n"), "t.txt:10: " + values + "), found '<end of line>'"},
        {small("lumi lnN 1.1 1.2 1.3\n"),
         "t.txt:10: " + values + "; start a trailing comment with '#'), found '1.3'"},
        {small("lumi lnN 1.1 - -\n"),
         "t.txt:10: " + values + "; start a trailing comment with '#'), found '-'"},
        {small("lumi lnN 1.1 - 0.9/1.1\n"),
         "t.txt:10: " + values +
             "; start a trailing comment with '#'), found '0.9/1.1'"},
        {small("a lnN 1.1 -\nlum"),
         "t.txt:11: expected a directive type (and its values) after 'lum'" + cut +
             ", found '<end of line>'"},
        {small("a lnN 1.1 -\nlumi lnN 1.1"),
         "t.txt:11: " + values + ")" + cut + ", found '<end of line>'"},
        {small("a lnN 1.1 -\nx param 0"),
         "t.txt:11: expected 'param <mean> <sigma> [range]'" + cut +
             ", found '<end of line>'"},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_error(c.text), c.message) << c.text;
    // accepted: comments after the values, separators, and a last line without '\n'
    auto ok = dc::parse_datacard(small("a lnN 1.1 - 10% on signal\n=====\nb lnN - 1.2"),
                                 "t.txt");
    ASSERT_EQ(ok.nuisances.size(), 2u);
    EXPECT_EQ(ok.nuisances[1].effects[1].hi, 1.2);
}

// ---- shapes lookup ------------------------------------------------------------------

namespace {

const dc::ShapeRequest* find_request(const std::vector<dc::ShapeRequest>& rs,
                                     const std::string& process,
                                     const std::string& variation) {
    for (const auto& r : rs)
        if (r.process == process && r.variation == variation) return &r;
    return nullptr;
}

} // namespace

TEST(DatacardShapes, ShapeInterpAtMass200) {
    auto c = card("ci/template-analysis_shapeInterp.txt");
    auto rs = dc::shape_requests(c, {200.0, {}});
    const auto* bbh = find_request(rs, "bbH", "");
    ASSERT_TRUE(bbh);
    EXPECT_EQ(bbh->object, "htt_tt_9_13TeV/bbH200");
    EXPECT_EQ(bbh->file, "htt_input.root");
    EXPECT_EQ(bbh->channel, "htt_tt_9_13TeV");
    EXPECT_EQ(bbh->line, 7);
    EXPECT_TRUE(bbh->required);
    const auto* data = find_request(rs, "data_obs", "");
    ASSERT_TRUE(data);
    EXPECT_EQ(data->object, "htt_tt_9_13TeV/data_obs");
    EXPECT_EQ(data->line, 6);
    EXPECT_TRUE(data->required);
    const auto* up = find_request(rs, "TTT", "CMS_eff_t_mssmHigh_tt_13TeVUp");
    ASSERT_TRUE(up);
    EXPECT_EQ(up->object, "htt_tt_9_13TeV/TTT_CMS_eff_t_mssmHigh_tt_13TeVUp");
    const auto* down = find_request(rs, "ggH", "CMS_eff_t_mssmHigh_tt_13TeVDown");
    ASSERT_TRUE(down);
    EXPECT_EQ(down->object, "htt_tt_9_13TeV/ggH200_CMS_eff_t_mssmHigh_tt_13TeVDown");
    EXPECT_FALSE(find_request(rs, "ZL", "CMS_eff_t_mssmHigh_tt_13TeVUp")); // '-'
    // 1 data + 7 nominals + 2 per active shape entry
    std::size_t shape_entries = 0;
    for (const auto& n : c.nuisances)
        if (n.kind == dc::NuisanceKind::shape)
            for (const auto& e : n.effects) shape_entries += e.active;
    EXPECT_EQ(rs.size(), 8 + 2 * shape_entries);

    auto frac = dc::shape_requests(c, {125.5, {}});
    EXPECT_EQ(find_request(frac, "bbH", "")->object, "htt_tt_9_13TeV/bbH125.5");
}

TEST(DatacardShapes, CountingAndFakeCardsNeedNoTemplates) {
    EXPECT_TRUE(
        dc::shape_requests(card("tutorials/counting/realistic-counting-experiment.txt"))
            .empty());
    EXPECT_TRUE(
        dc::shape_requests(card("tutorials/CAT23001/datacard-5-multi-signal.txt"))
            .empty());
    EXPECT_TRUE(
        dc::shape_requests(card("tutorials/statistical_routines_tutorial/datacard.txt"))
            .empty());
}

TEST(DatacardShapes, PerProcessLinesAndMinusOneRates) {
    auto rs = dc::shape_requests(card("tutorials/rate_params/signal_region.txt"));
    ASSERT_EQ(rs.size(), 4u);
    EXPECT_EQ(rs[0].process, "data_obs");
    EXPECT_EQ(rs[0].object, "SR_data");
    EXPECT_FALSE(rs[0].required); // observation -1: a card may come without data
    EXPECT_TRUE(rs[1].required);
    EXPECT_EQ(rs[3].object, "SR_signal");
    EXPECT_EQ(rs[3].line, 12);
}

TEST(DatacardShapes, LookupOrderSubstitutionsAndKeywords) {
    auto c =
        dc::parse_datacard("shapes * * all.root $PROCESS $PROCESS_$SYSTEMATIC\n"
                           "shapes b * b.root $CHANNEL/b_$ERA b_$SYSTEMATIC\n"
                           "shapes * ch2 ch2.root x/$PROCESS x/$PROCESS_$SYSTEMATIC\n"
                           "shapes s ch2 s2_$CHANNEL.root s$MASS\n"
                           "bin ch1 ch2\nobservation 1 1\n"
                           "bin ch1 ch1 ch2 ch2\nprocess s b s b\nprocess 0 1 0 1\n"
                           "rate 1 1 1 0\n"
                           "u shape? 1 1 1 -\n",
                           "k.txt");
    auto rs = dc::shape_requests(c, {125.0, {{"ERA", "2018"}}});
    auto get = [&](const std::string& ch, const std::string& p, const std::string& v) {
        for (const auto& r : rs)
            if (r.channel == ch && r.process == p && r.variation == v) return r;
        throw std::runtime_error("missing request " + ch + p + v);
    };
    EXPECT_EQ(get("ch1", "data_obs", "").object, "data_obs");
    EXPECT_EQ(get("ch1", "s", "").file, "all.root");
    EXPECT_EQ(get("ch1", "s", "uUp").object, "s_uUp");
    EXPECT_FALSE(get("ch1", "s", "uUp").required);
    EXPECT_EQ(get("ch1", "b", "").object, "ch1/b_2018");
    EXPECT_EQ(get("ch1", "b", "uDown").object, "b_uDown");
    EXPECT_EQ(get("ch2", "data_obs", "").file, "ch2.root");
    EXPECT_EQ(get("ch2", "s", "").file, "s2_ch2.root");
    EXPECT_EQ(get("ch2", "s", "").object, "s125");
    EXPECT_EQ(get("ch2", "s", "").line, 4);
    // shape? without a systematic pattern: no Up/Down request (falls back to lnN)
    EXPECT_EQ(std::count_if(
                  rs.begin(), rs.end(),
                  [](const auto& r) { return r.channel == "ch2" && r.process == "s"; }),
              1);
    // rate 0: nothing requested
    EXPECT_EQ(std::count_if(
                  rs.begin(), rs.end(),
                  [](const auto& r) { return r.channel == "ch2" && r.process == "b"; }),
              0);
}

TEST(DatacardShapes, Errors) {
    auto c = dc::parse_datacard("shapes * * f.root $PROCESS\n"
                                "bin ch\nobservation 1\nbin ch\nprocess s\nprocess 0\n"
                                "rate 1\nu shape 1\n",
                                "k.txt");
    try {
        dc::shape_requests(c);
        FAIL() << "no error";
    } catch (const hifit::InvalidSpec& e) {
        EXPECT_EQ(
            std::string(e.what()),
            "k.txt:1: expected a systematic pattern (6th entry) for shape nuisance 'u' "
            "of process 's' in channel 'ch', found '<none>'");
    }
    auto m = dc::parse_datacard(
        "shapes s other f.root $PROCESS\n"
        "bin ch\nobservation 1\nbin ch\nprocess s\nprocess 0\nrate 1\n",
        "k.txt");
    try {
        dc::shape_requests(m);
        FAIL() << "no error";
    } catch (const hifit::InvalidSpec& e) {
        EXPECT_EQ(
            std::string(e.what()),
            "k.txt:1: expected a shapes line matching process 'data_obs' in channel "
            "'ch', found '<none>'");
    }
}

// ---- combineCards -------------------------------------------------------------------

TEST(DatacardCombine, SingleBinCardsAreRenamedToTheirLabels) {
    auto a = card("tutorials/statistical_routines_tutorial/datacard.txt");
    auto b = card("tutorials/CAT23001/datacard-1-counting-experiment.txt");
    auto c = dc::combine_cards({{"first", a}, {"second", b}});
    EXPECT_EQ(c.bins, (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(c.observation, (std::vector<double>{6, 0}));
    ASSERT_EQ(c.columns.size(), 5u);
    EXPECT_EQ(c.columns[0].bin, "first");
    EXPECT_EQ(c.columns[2].bin, "second");
    EXPECT_EQ(c.processes(), (std::vector<std::string>{"ggH", "WW", "ppX", "tt"}));
    // signals 0, -1, ...; backgrounds 1, 2, ... consistently
    EXPECT_EQ(c.columns[0].process_id, 0);
    EXPECT_EQ(c.columns[1].process_id, 1);
    EXPECT_EQ(c.columns[2].process_id, -1);
    EXPECT_EQ(c.columns[3].process_id, 1); // WW again
    EXPECT_EQ(c.columns[4].process_id, 2);
    const auto& lumi = row(c, "lumi"); // in both cards: one correlated row
    EXPECT_DOUBLE_EQ(lumi.effects[0].hi, 1.01);
    EXPECT_DOUBLE_EQ(lumi.effects[4].hi, 1.11);
    const auto& xs = row(c, "xs_ggH");
    ASSERT_EQ(xs.effects.size(), 5u);
    EXPECT_FALSE(xs.effects[2].active);
    EXPECT_DOUBLE_EQ(row(c, "nWW").effects[3].hi, 0.16);
    // a counting card next to a shape card becomes FAKE
    ASSERT_EQ(c.shapes.size(), 2u);
    EXPECT_EQ(c.shapes[0].channel, "first");
    EXPECT_EQ(c.shapes[0].file, "FAKE");
    EXPECT_EQ(c.shapes[1].channel, "second");
    EXPECT_EQ(c.shapes[1].file, "FAKE");
}

TEST(DatacardCombine, MultiBinPrefixAndDotLabel) {
    auto m = card("tutorials/CAT23001/datacard-4-abcd.txt");
    auto s = card("tutorials/shapes/simple-shapes-TH1.txt");
    auto c = dc::combine_cards({{"abcd", m}, {".", s}});
    EXPECT_EQ(c.bins, (std::vector<std::string>{"abcd_B", "abcd_C", "abcd_D", "abcd_A",
                                                "bin1"}));
    ASSERT_EQ(c.rate_params.size(), 4u);
    EXPECT_EQ(c.rate_params[0].bin, "abcd_A");
    EXPECT_EQ(c.rate_params[0].formula, "(@0*@1/@2)");
    EXPECT_TRUE(c.is_signal("sig"));
    EXPECT_TRUE(c.is_signal("signal"));
    // shapes: the abcd bins are counting (FAKE), the shape card's line is per channel
    ASSERT_EQ(c.shapes.size(), 5u);
    EXPECT_EQ(c.shapes[4].process, "*");
    EXPECT_EQ(c.shapes[4].channel, "bin1");
    EXPECT_EQ(c.shapes[4].file, "simple-shapes-TH1_input.root");
    EXPECT_EQ(c.shapes[4].systematic, "$PROCESS_$SYSTEMATIC");
    auto rs = dc::shape_requests(c);
    EXPECT_EQ(rs.size(), 7u);
}

TEST(DatacardCombine, GlobsAutoMCStatsAndChannelPatterns) {
    auto a = card("ci/template-analysis_shapeInterp.txt");
    auto b = card("ci/htt_multiple_regions.txt");
    auto c = dc::combine_cards({{"tt13", a}, {"tt8", b}});
    EXPECT_EQ(c.bins.size(), 4u);
    EXPECT_EQ(c.bins[0], "tt13");
    EXPECT_EQ(c.bins[1], "tt8_htt_tt_0_8TeV");
    // '*' rateParams of the first card apply to its bin only
    ASSERT_EQ(c.rate_params.size(), 2u);
    EXPECT_EQ(c.rate_params[0].bin, "tt13");
    ASSERT_EQ(c.auto_mc_stats.size(), 1u);
    EXPECT_EQ(c.auto_mc_stats[0].bin, "tt13");
    // the same templates are requested as from the separate cards
    auto ra = dc::shape_requests(a, {200.0, {}});
    auto rc = dc::shape_requests(c, {200.0, {}});
    std::size_t first = 0;
    for (const auto& r : rc) {
        if (r.channel != "tt13") continue;
        ASSERT_LT(first, ra.size());
        EXPECT_EQ(r.object, ra[first].object);
        EXPECT_EQ(r.variation, ra[first].variation);
        ++first;
    }
    EXPECT_EQ(first, ra.size());
    auto rb = dc::shape_requests(b, {125.0, {}});
    std::size_t objects_b = 0;
    for (const auto& r : dc::shape_requests(c, {125.0, {}}))
        if (r.channel != "tt13") {
            ASSERT_LT(objects_b, rb.size());
            EXPECT_EQ(r.object, rb[objects_b++].object);
        }
    EXPECT_EQ(objects_b, rb.size());
    // nuisances shared by name are one row
    EXPECT_LT(c.nuisances.size(), a.nuisances.size() + b.nuisances.size() + 1);
}

TEST(DatacardCombine, Errors) {
    auto a = dc::parse_datacard("bin ch\nobservation 1\nbin ch ch\nprocess s b\n"
                                "process 0 1\nrate 1 1\nx lnN 1.1 -\n",
                                "a.txt");
    auto b = dc::parse_datacard("bin ch\nobservation 1\nbin ch ch\nprocess s b\n"
                                "process 1 0\nrate 1 1\nx shape 1 -\n",
                                "b.txt");
    auto msg = [](const std::vector<std::pair<std::string, dc::Datacard>>& cards) {
        try {
            dc::combine_cards(cards);
        } catch (const hifit::InvalidSpec& e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    EXPECT_EQ(msg({{"a", a}, {"b", b}}), "combine_cards: expected process 's' to be "
                                         "signal in every card or background in "
                                         "every card (b.txt disagrees), found 's'");
    auto b2 = dc::parse_datacard("bin ch\nobservation 1\nbin ch\nprocess s\nprocess 0\n"
                                 "rate 1\nx shape 1\n",
                                 "b2.txt");
    EXPECT_EQ(
        msg({{"a", a}, {"b", b2}}),
        "combine_cards: expected nuisance 'x' to have the same type in every card (lnN "
        "vs shape; shape and lnN effects mix only through shape?), found 'shape'");
    auto b3 = dc::parse_datacard("bin ch\nobservation 1\nbin ch\nprocess s\nprocess 0\n"
                                 "rate 1\nx shape? 1\n",
                                 "b3.txt");
    auto ok = dc::combine_cards({{"a", a}, {"b", b3}});
    EXPECT_EQ(row(ok, "x").kind, dc::NuisanceKind::shape_optional);
    EXPECT_EQ(msg({{"1a", a}}),
              "combine_cards: expected a label that is an identifier not "
              "starting with a digit, or '.', found '1a'");
    EXPECT_EQ(msg({{"a", a}, {"a", b3}}),
              "combine_cards: expected distinct labels, found 'a'");
    EXPECT_EQ(
        msg({{".", a}, {".", b3}}),
        "combine_cards: expected distinct bin names in the combined card, found 'ch'");
}
