#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>
#include <hifit/histfactory/workspace.hpp>
#include <hifit/likelihood/model.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace {

namespace dc = hifit::datacard;
using hifit::Modifier;
using hifit::ModifierType;

const std::string kData = HIFIT_SHARED_DATA;

dc::Effect sym(double k) {
    return {true, false, 0.0, k};
}
dc::Effect asym(double lo, double hi) {
    return {true, true, lo, hi};
}
const dc::Effect kNone{};

dc::Nuisance nuisance(std::string name, dc::NuisanceKind kind,
                      std::vector<dc::Effect> effects, int line = 0) {
    dc::Nuisance n;
    n.name = std::move(name);
    n.kind = kind;
    n.effects = std::move(effects);
    n.line = line;
    return n;
}

// One counting bin: sig (rate 1.47) and bkg (rate 0.64 = 4 x 0.16, gmN 4).
dc::Datacard counting_card() {
    dc::Datacard card;
    card.source = "card.txt";
    card.bins = {"bin1"};
    card.observation = {3.0};
    card.columns = {{"bin1", "sig", 0, 1.47}, {"bin1", "bkg", 1, 0.64}};
    card.nuisances.push_back(
        nuisance("lumi", dc::NuisanceKind::lnN, {sym(1.11), kNone}));
    card.nuisances.push_back(
        nuisance("xs", dc::NuisanceKind::lnN, {kNone, asym(0.9, 1.2)}));
    auto gmn = nuisance("sideband", dc::NuisanceKind::gmN, {kNone, sym(0.16)});
    gmn.gmn_events = 4;
    card.nuisances.push_back(gmn);
    return card;
}

// One three-bin shape channel with sig/bkg templates and a shape nuisance on bkg.
dc::Datacard shape_card(dc::Templates& t) {
    dc::Datacard card;
    card.source = "shapes.txt";
    card.bins = {"ch"};
    card.observation = {60.0};
    card.shapes.push_back({"*", "*", "f.root", "$PROCESS", "$PROCESS_$SYSTEMATIC", 3});
    card.columns = {{"ch", "sig", 0, 10.0}, {"ch", "bkg", 1, -1}};
    card.nuisances.push_back(
        nuisance("jes", dc::NuisanceKind::shape, {kNone, sym(1.0)}));
    t[{"ch", "sig", ""}] = {{1, 2, 2}, {0.25, 0.5, 0.5}, {}};
    t[{"ch", "bkg", ""}] = {{20, 20, 10}, {4, 4, 1}, {}};
    t[{"ch", "bkg", "jesUp"}] = {{22, 21, 12}, {}, {}};
    t[{"ch", "bkg", "jesDown"}] = {{19, 18, 9}, {}, {}};
    t[{"ch", "data_obs", ""}] = {{21, 24, 15}, {}, {}};
    return card;
}

const hifit::Sample& sample(const hifit::WorkspaceSpec& spec, const std::string& name) {
    for (const auto& ch : spec.channels)
        for (const auto& s : ch.samples)
            if (s.name == name) return s;
    throw std::runtime_error("no sample " + name);
}

const Modifier* find(const hifit::Sample& s, ModifierType type) {
    for (const auto& m : s.modifiers)
        if (m.type == type) return &m;
    return nullptr;
}

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find(what) != std::string::npos;
    });
}

std::vector<double> expected(const hifit::WorkspaceSpec& spec,
                             std::vector<std::pair<std::string, double>> set = {}) {
    auto model = hifit::Model::compile(spec);
    auto data = model.data(spec.observations);
    hifit::Likelihood nll(model, data);
    auto pars = model.suggested_init();
    for (const auto& [name, value] : set) pars[model.paramset(name).offset] = value;
    std::vector<double> out(model.nmain());
    nll.expected_data(pars, out, false);
    return out;
}

std::string error_of(const dc::Datacard& card, const dc::Templates& t = {}) {
    try {
        dc::to_workspace(card, t);
    } catch (const hifit::InvalidModel& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(DatacardConvertToWorkspace, CountingCard) {
    auto result = dc::to_workspace(counting_card(), {});
    const auto& spec = result.spec;
    ASSERT_EQ(spec.channels.size(), 1u);
    EXPECT_EQ(spec.channels[0].name, "bin1");
    EXPECT_EQ(spec.observations[0].data, std::vector<double>{3.0});

    const auto& sig = sample(spec, "sig");
    EXPECT_EQ(sig.data, std::vector<double>{1.47});
    ASSERT_TRUE(find(sig, ModifierType::normfactor));
    EXPECT_EQ(find(sig, ModifierType::normfactor)->name, "r");
    const Modifier* lumi = find(sig, ModifierType::normsys);
    ASSERT_TRUE(lumi);
    EXPECT_DOUBLE_EQ(lumi->hi, 1.11);
    EXPECT_DOUBLE_EQ(lumi->lo, 1.0 / 1.11);

    const auto& bkg = sample(spec, "bkg");
    EXPECT_DOUBLE_EQ(bkg.data[0], 0.64);
    EXPECT_FALSE(find(bkg, ModifierType::normfactor));
    EXPECT_DOUBLE_EQ(find(bkg, ModifierType::normsys)->lo, 0.9);
    EXPECT_DOUBLE_EQ(find(bkg, ModifierType::normsys)->hi, 1.2);
    // gmN 4 x 0.16: shapesys with relative uncertainty 1/sqrt(4), i.e. tau = N.
    const Modifier* gmn = find(bkg, ModifierType::shapesys);
    ASSERT_TRUE(gmn);
    EXPECT_EQ(gmn->name, "sideband");
    EXPECT_NEAR(gmn->data[0], 0.32, 1e-12);

    ASSERT_EQ(spec.measurements.size(), 1u);
    EXPECT_EQ(spec.measurements[0].poi, "r");
    const auto& pc = spec.measurements[0].parameters.at(0);
    EXPECT_EQ(pc.name, "r");
    EXPECT_EQ(pc.bounds->front(), (std::pair{0.0, 20.0}));

    // One line per lnN nuisance; gmN on one bin is exact.
    ASSERT_EQ(result.inexact.size(), 2u) << result.inexact[0];
    EXPECT_TRUE(mentions(result.inexact, "lnN lumi"));
    EXPECT_TRUE(mentions(result.inexact, "interpcode code1"));
    EXPECT_TRUE(mentions(result.inexact, "lnN xs: asymmetric"));
    EXPECT_FALSE(mentions(result.inexact, "sideband"));

    // The workspace builds, and its nominal yields are the card rates.
    auto rates = expected(spec);
    EXPECT_NEAR(rates[0], 1.47 + 0.64, 1e-12);
}

TEST(DatacardConvertToWorkspace, TemplatesScaledToRateAndShapeAsHistosys) {
    dc::Templates t;
    auto card = shape_card(t);
    auto result = dc::to_workspace(card, t);
    const auto& sig = sample(result.spec, "sig");
    // Without autoMCStats Combine normalises the template (sum 5) to the rate 10.
    EXPECT_EQ(sig.data, (std::vector<double>{2, 4, 4}));
    const auto& bkg = sample(result.spec, "bkg"); // rate -1: the template as it is
    EXPECT_EQ(bkg.data, (std::vector<double>{20, 20, 10}));
    const Modifier* jes = find(bkg, ModifierType::histosys);
    ASSERT_TRUE(jes);
    EXPECT_EQ(jes->hi_data, (std::vector<double>{22, 21, 12}));
    EXPECT_EQ(jes->lo_data, (std::vector<double>{19, 18, 9}));
    EXPECT_FALSE(find(bkg, ModifierType::staterror));
    EXPECT_EQ(result.spec.observations[0].data, (std::vector<double>{21, 24, 15}));
    ASSERT_EQ(result.inexact.size(), 1u);
    EXPECT_TRUE(mentions(result.inexact, "shape jes: Combine splits shape"));
}

TEST(DatacardConvertToWorkspace, AutoMCStatsKeepsTemplatesAndAddsStaterror) {
    dc::Templates t;
    auto card = shape_card(t);
    card.auto_mc_stats.push_back({"*", 0.0, false, 1, 9});
    auto result = dc::to_workspace(card, t);
    const auto& sig = sample(result.spec, "sig");
    EXPECT_EQ(sig.data,
              (std::vector<double>{1, 2, 2})); // the template carries the yield
    const Modifier* stat = find(sig, ModifierType::staterror);
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->name, "staterror_ch");
    EXPECT_EQ(stat->data, (std::vector<double>{0.5, std::sqrt(0.5), std::sqrt(0.5)}));
    EXPECT_EQ(find(sample(result.spec, "bkg"), ModifierType::staterror)->data,
              (std::vector<double>{2, 2, 1}));
    EXPECT_TRUE(mentions(result.inexact, "autoMCStats ch: Combine's additive"));
    EXPECT_TRUE(mentions(result.inexact, "shape jes"));
}

TEST(DatacardConvertToWorkspace, HistMode2WithoutNuisancesIsExact) {
    dc::Templates t;
    auto card = shape_card(t);
    card.auto_mc_stats.push_back({"ch", -1.0, false, 2, 9});
    auto result = dc::to_workspace(card, t);
    EXPECT_TRUE(result.inexact.empty()) << result.inexact[0];
    EXPECT_FALSE(find(sample(result.spec, "bkg"), ModifierType::staterror));
}

TEST(DatacardConvertToWorkspace, ShapeScaleEvaluatesCombineMorphAtOneSigma) {
    dc::Templates t;
    auto card = shape_card(t);
    card.auto_mc_stats.push_back({"ch", -1.0, false, 2, 9});
    card.nuisances[0].effects[1].hi = 0.5; // templates are +-2 sigma
    auto result = dc::to_workspace(card, t);
    const Modifier* jes = find(sample(result.spec, "bkg"), ModifierType::histosys);
    // x = 0.5: 0.5*0.5*(d+ - d-) + 0.5*0.5*(d+ + d-)*S(0.5), S(0.5) = 0.79296875.
    double dp = 2, dm = -1, s = 0.5 * (3 * 0.0625 - 10 * 0.25 + 15) / 8;
    EXPECT_NEAR(jes->hi_data[0], 20 + 0.25 * (dp - dm) + 0.25 * (dp + dm) * s, 1e-12);
    EXPECT_TRUE(mentions(result.inexact, "shape jes: a shape scale != 1"));
}

TEST(DatacardConvertToWorkspace, ShapeOptionalFallsBackToNormsys) {
    dc::Templates t;
    auto card = shape_card(t);
    card.nuisances[0].kind = dc::NuisanceKind::shape_optional;
    card.nuisances[0].effects[0] = sym(1.05); // no jesUp/Down for sig
    auto result = dc::to_workspace(card, t);
    EXPECT_DOUBLE_EQ(find(sample(result.spec, "sig"), ModifierType::normsys)->hi, 1.05);
    EXPECT_TRUE(find(sample(result.spec, "bkg"), ModifierType::histosys));

    card.nuisances[0].kind = dc::NuisanceKind::shape; // plain shape needs templates
    EXPECT_NE(
        error_of(card, t).find("no templates jesUp/jesDown for bin ch, process sig"),
        std::string::npos);
}

TEST(DatacardConvertToWorkspace, RateParamsAndPoiMap) {
    auto card = counting_card();
    card.columns.push_back({"bin1", "sig2", -1, 0.5});
    for (auto& n : card.nuisances) n.effects.push_back(kNone);
    dc::RateParam rp;
    rp.name = "norm_bkg";
    rp.bin = "*";
    rp.process = "b?g";
    rp.init = 1.5;
    rp.range = std::pair{0.5, 3.0};
    card.rate_params.push_back(rp);
    rp.name = "free";
    rp.process = "sig*";
    rp.range.reset();
    card.rate_params.push_back(rp);

    dc::CombineOptions options;
    options.poi_map = {{"sig2", "r_two"}, {"sig*", "r_one"}};
    auto result = dc::to_workspace(card, {}, options);
    const auto& spec = result.spec;
    auto names = [&](const std::string& s) {
        std::vector<std::string> out;
        for (const auto& m : sample(spec, s).modifiers)
            if (m.type == ModifierType::normfactor) out.push_back(m.name);
        return out;
    };
    EXPECT_EQ(names("sig"), (std::vector<std::string>{"r_one", "free"}));
    EXPECT_EQ(names("sig2"), (std::vector<std::string>{"r_two", "free"}));
    EXPECT_EQ(names("bkg"), (std::vector<std::string>{"norm_bkg"}));
    EXPECT_EQ(spec.measurements[0].poi, "r_two");
    for (const auto& pc : spec.measurements[0].parameters) {
        if (pc.name == "norm_bkg") {
            EXPECT_EQ(pc.inits->front(), 1.5);
            EXPECT_EQ(pc.bounds->front(), (std::pair{0.5, 3.0}));
        }
        if (pc.name == "free") EXPECT_EQ(pc.bounds->front(), (std::pair{0.0, 15.0}));
    }
    EXPECT_TRUE(mentions(result.inexact, "rateParam free: unbounded in Combine"));
}

TEST(DatacardConvertToWorkspace, ParamLines) {
    auto card = counting_card();
    dc::RateParam rp;
    rp.name = "norm";
    rp.bin = "bin1";
    rp.process = "bkg";
    card.rate_params.push_back(rp);
    auto param = nuisance("norm", dc::NuisanceKind::param, {});
    param.mean = 1;
    param.sigma_lo = param.sigma_hi = 0.1;
    card.nuisances.push_back(param);
    param.name = "lumi";
    param.mean = 0.5;
    param.sigma_lo = param.sigma_hi = 0.5;
    card.nuisances.push_back(param);
    auto result = dc::to_workspace(card, {});
    EXPECT_TRUE(
        mentions(result.inexact, "param norm: Gaussian constraint on a rateParam"));
    bool found = false;
    for (const auto& pc : result.spec.measurements[0].parameters)
        if (pc.name == "lumi") {
            found = true;
            EXPECT_EQ(pc.auxdata->front(), 0.5);
            EXPECT_EQ(pc.sigmas->front(), 0.5);
            EXPECT_EQ(pc.bounds->front(), (std::pair{-1.5, 2.5})); // mean +- 4 sigma
        }
    EXPECT_TRUE(found);
}

TEST(DatacardConvertToWorkspace, UnsupportedLinesNameTheLine) {
    auto card = counting_card();
    dc::RateParam rp;
    rp.name = "alpha";
    rp.bin = "bin1";
    rp.process = "bkg";
    rp.formula = "(@0*@1)";
    rp.args = {"beta", "gamma"};
    rp.line = 17;
    card.rate_params.push_back(rp);
    auto err = error_of(card);
    EXPECT_NE(err.find("card.txt:17: rateParam 'alpha' is the formula (@0*@1) of "
                       "beta,gamma"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("products and quotients"), std::string::npos);

    card.rate_params.clear();
    card.ext_args.push_back({"beta", 1.0, std::nullopt, 21});
    EXPECT_NE(error_of(card).find("card.txt:21: extArg 'beta'"), std::string::npos);
}

TEST(DatacardConvertToWorkspace, LnUAndMultiBinGmNAreListed) {
    dc::Templates t;
    auto card = shape_card(t);
    card.nuisances.push_back(
        nuisance("flat", dc::NuisanceKind::lnU, {sym(2.0), kNone}));
    auto gmn = nuisance("cr", dc::NuisanceKind::gmN, {kNone, sym(10.0)});
    gmn.gmn_events = 5; // rate -1 would be checked by Combine against N x alpha = 50
    card.nuisances.push_back(gmn);
    auto result = dc::to_workspace(card, t);
    EXPECT_TRUE(mentions(result.inexact, "lnU flat: the uniform constraint"));
    EXPECT_TRUE(mentions(result.inexact, "gmN cr: one Poisson parameter"));
    const auto& bkg = sample(result.spec, "bkg");
    EXPECT_EQ(bkg.data, (std::vector<double>{20, 20, 10})); // scaled to N x alpha = 50
    EXPECT_NEAR(find(bkg, ModifierType::shapesys)->data[0], 20 / std::sqrt(5.0), 1e-12);
}

// ---- workspace -> datacard --------------------------------------------------------

namespace {

hifit::WorkspaceSpec small_spec() {
    hifit::WorkspaceSpec spec;
    hifit::Channel ch{"SR", {}};
    hifit::Sample sig{"signal", {5, 10}, {}};
    Modifier mu;
    mu.name = "mu";
    sig.modifiers.push_back(mu);
    Modifier lumi;
    lumi.name = "lumi";
    lumi.type = ModifierType::lumi;
    sig.modifiers.push_back(lumi);
    Modifier stat;
    stat.name = "staterror_SR";
    stat.type = ModifierType::staterror;
    stat.data = {1, 2};
    sig.modifiers.push_back(stat);

    hifit::Sample bkg{"bkg", {50, 60}, {}};
    Modifier ns;
    ns.name = "jes";
    ns.type = ModifierType::normsys;
    ns.hi = 1.1;
    ns.lo = 0.95;
    bkg.modifiers.push_back(ns);
    Modifier hs;
    hs.name = "jes";
    hs.type = ModifierType::histosys;
    hs.hi_data = {52, 61};
    hs.lo_data = {49, 58};
    bkg.modifiers.push_back(hs);
    Modifier xs;
    xs.name = "xs";
    xs.type = ModifierType::normsys;
    xs.hi = 1.2;
    xs.lo = 1 / 1.2;
    bkg.modifiers.push_back(xs);
    stat.data = {5, 6};
    bkg.modifiers.push_back(stat);

    hifit::Sample cr{"cr_bkg", {9}, {}};
    Modifier ss;
    ss.name = "cr_stat";
    ss.type = ModifierType::shapesys;
    ss.data = {3}; // tau = 9
    cr.modifiers.push_back(ss);
    Modifier k;
    k.name = "k_bkg";
    cr.modifiers.push_back(k);

    ch.samples = {sig, bkg};
    spec.channels.push_back(ch);
    spec.channels.push_back(hifit::Channel{"1CR", {cr}});
    spec.observations = {{"SR", {60, 70}}, {"1CR", {10}}};
    hifit::Measurement meas{"meas", "mu", {}};
    hifit::ParameterConfig pc;
    pc.name = "lumi";
    pc.auxdata = std::vector<double>{1.0};
    pc.sigmas = std::vector<double>{0.02};
    pc.inits = std::vector<double>{1.0};
    pc.bounds = std::vector<std::pair<double, double>>{{0.9, 1.1}};
    meas.parameters.push_back(pc);
    spec.measurements.push_back(meas);
    return spec;
}

const dc::Nuisance* row(const dc::Datacard& card, const std::string& name) {
    for (const auto& n : card.nuisances)
        if (n.name == name) return &n;
    return nullptr;
}

} // namespace

TEST(DatacardConvertToDatacard, MapsModifiers) {
    auto result = dc::to_datacard(small_spec(), "shapes.root");
    const auto& card = result.card;
    EXPECT_EQ(card.bins, (std::vector<std::string>{"SR", "ch_1CR"}));
    EXPECT_EQ(card.observation, (std::vector<double>{130, 10}));
    ASSERT_EQ(card.columns.size(), 3u);
    EXPECT_EQ(card.columns[0].process, "signal");
    EXPECT_EQ(card.columns[0].process_id, 0);
    EXPECT_EQ(card.columns[1].process_id, 1);
    EXPECT_EQ(card.columns[2].process_id, 2);
    EXPECT_EQ(card.columns[1].rate, 110.0);
    ASSERT_EQ(card.shapes.size(), 1u);
    EXPECT_EQ(card.shapes[0].file, "shapes.root");
    EXPECT_EQ(card.shapes[0].systematic, "$CHANNEL/$PROCESS_$SYSTEMATIC");

    // normsys + histosys of one name on one sample: a shape with the product templates.
    const auto* jes = row(card, "jes");
    ASSERT_TRUE(jes);
    EXPECT_EQ(jes->kind, dc::NuisanceKind::shape);
    EXPECT_TRUE(jes->effects[1].active);
    EXPECT_FALSE(jes->effects[0].active);
    EXPECT_NEAR(result.templates.at({"SR", "bkg", "jesUp"}).contents[0], 52 * 1.1,
                1e-12);
    EXPECT_NEAR(result.templates.at({"SR", "bkg", "jesDown"}).contents[1], 58 * 0.95,
                1e-12);
    const auto* xs = row(card, "xs");
    EXPECT_EQ(xs->kind, dc::NuisanceKind::lnN);
    EXPECT_FALSE(xs->effects[1].asymmetric); // 1/1.2 and 1.2: symmetric kappa
    EXPECT_DOUBLE_EQ(xs->effects[1].hi, 1.2);

    // One-bin shapesys with integer tau = 9: gmN 9, alpha = 1.
    const auto* gmn = row(card, "cr_stat");
    EXPECT_EQ(gmn->kind, dc::NuisanceKind::gmN);
    EXPECT_EQ(gmn->gmn_events, 9);
    EXPECT_DOUBLE_EQ(gmn->effects[2].hi, 1.0);

    // lumi: rateParam plus a Gaussian param; k_bkg: a free rateParam.
    const auto* lumi = row(card, "lumi");
    EXPECT_EQ(lumi->kind, dc::NuisanceKind::param);
    EXPECT_EQ(lumi->mean, 1.0);
    EXPECT_EQ(lumi->sigma_hi, 0.02);
    ASSERT_EQ(card.rate_params.size(), 2u);
    EXPECT_EQ(card.rate_params[0].name, "lumi");
    EXPECT_EQ(card.rate_params[0].range, (std::pair{0.9, 1.1}));
    EXPECT_EQ(card.rate_params[1].name, "k_bkg");
    EXPECT_EQ(card.rate_params[1].bin, "ch_1CR");

    // staterror: template sumw2 and autoMCStats 0 in SR; -1 (no nuisances) in CR.
    EXPECT_EQ(result.templates.at({"SR", "bkg", ""}).sumw2,
              (std::vector<double>{25, 36}));
    EXPECT_EQ(result.templates.at({"SR", "data_obs", ""}).contents,
              (std::vector<double>{60, 70}));
    ASSERT_EQ(card.auto_mc_stats.size(), 2u);
    EXPECT_EQ(card.auto_mc_stats[0].threshold, 0.0);
    EXPECT_EQ(card.auto_mc_stats[0].hist_mode, 2);
    EXPECT_EQ(card.auto_mc_stats[1].threshold, -1.0);

    const auto& notes = result.inexact;
    EXPECT_TRUE(mentions(notes, "channel '1CR' renamed to 'ch_1CR'"));
    EXPECT_TRUE(mentions(notes, "normsys+histosys jes"));
    EXPECT_TRUE(mentions(notes, "normsys xs"));
    EXPECT_TRUE(mentions(notes, "staterror staterror_SR"));
    EXPECT_TRUE(mentions(notes, "POI mu becomes Combine's signal strength r"));
    EXPECT_FALSE(mentions(notes, "cr_stat"));
    EXPECT_FALSE(mentions(notes, "lumi"));
}

TEST(DatacardConvertToDatacard, MultiBinShapesysAndFixedParameters) {
    auto spec = small_spec();
    auto& bkg = spec.channels[0].samples[1];
    Modifier ss;
    ss.name = "bkg_stat";
    ss.type = ModifierType::shapesys;
    ss.data = {5, 0};
    bkg.modifiers.push_back(ss);
    hifit::ParameterConfig fixed;
    fixed.name = "xs";
    fixed.fixed = true;
    fixed.inits = std::vector<double>{1.0};
    spec.measurements[0].parameters.push_back(fixed);

    auto result = dc::to_datacard(spec, "s.root");
    const auto* b0 = row(result.card, "bkg_stat_bin0");
    ASSERT_TRUE(b0);
    EXPECT_EQ(b0->kind, dc::NuisanceKind::shape);
    EXPECT_FALSE(row(result.card, "bkg_stat_bin1")); // sigma 0: pyhf fixes it
    EXPECT_EQ(result.templates.at({"SR", "bkg", "bkg_stat_bin0Up"}).contents,
              (std::vector<double>{(50 + 5) * 1.2, 60 * 1.2}));
    // xs fixed at alpha = 1: folded (code4 at 1 is kappa = 1.2) and removed.
    EXPECT_FALSE(row(result.card, "xs"));
    EXPECT_EQ(result.card.columns[1].rate, 110 * 1.2);
    EXPECT_TRUE(mentions(result.inexact, "parameter xs is fixed"));
    EXPECT_TRUE(mentions(result.inexact, "shapesys bkg_stat"));

    Modifier sf;
    sf.name = "free_bins";
    sf.type = ModifierType::shapefactor;
    bkg.modifiers.push_back(sf);
    EXPECT_THROW(dc::to_datacard(spec, "s.root"), hifit::InvalidModel);
    EXPECT_THROW(dc::to_datacard(small_spec(), "s.root", "nope"),
                 hifit::InvalidArgument);
}

TEST(DatacardConvertToDatacard, MixedNormsysHistosysBecomesShapeOptional) {
    auto spec = small_spec();
    Modifier ns;
    ns.name = "jes";
    ns.type = ModifierType::normsys;
    ns.hi = 1.3;
    ns.lo = 0.8;
    spec.channels[0].samples[0].modifiers.push_back(ns);
    auto result = dc::to_datacard(spec, "s.root");
    const auto* jes = row(result.card, "jes");
    EXPECT_EQ(jes->kind, dc::NuisanceKind::shape_optional);
    EXPECT_TRUE(jes->effects[0].asymmetric);
    EXPECT_EQ(jes->effects[0].lo, 0.8);
    EXPECT_EQ(jes->effects[1].hi, 1.0);
    EXPECT_FALSE(result.templates.count({"SR", "signal", "jesUp"}));
}

// pyhf workspace -> card -> workspace: same expected yields at the nominal and at +-1
// sigma of each normsys/histosys (the pyhf models agree because both are pyhf).
TEST(DatacardConvertRoundTrip, PyhfWorkspacesKeepTheirYields) {
    for (const char* file :
         {"validation_2bin_2channel_coupledhistosys.json",
          "validation_1bin_normsys.json", "validation_2bin_histosys.json",
          "validation_1bin_lumi.json"}) {
        SCOPED_TRACE(file);
        auto ws = hifit::Workspace::load(kData + "/pyhf/validation-workspaces/" + file);
        auto card = dc::to_datacard(ws.spec(), "s.root");
        auto back = dc::to_workspace(card.card, card.templates);
        auto a = expected(ws.spec());
        auto b = expected(back.spec);
        // Channel order is sorted in both models; yields must agree bin by bin.
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-9 * a[i]);
        auto model = hifit::Model::compile(ws.spec());
        for (const auto& ps : model.paramsets()) {
            if (ps.constraint != hifit::Constraint::normal || ps.name == "lumi")
                continue;
            for (double s : {-1.0, 1.0}) {
                auto x = expected(ws.spec(), {{ps.name, s}});
                auto y = expected(back.spec, {{ps.name, s}});
                for (std::size_t i = 0; i < x.size(); ++i)
                    EXPECT_NEAR(x[i], y[i], 1e-9 * std::abs(x[i])) << ps.name << s;
            }
        }
    }
}
