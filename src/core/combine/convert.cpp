// Datacard <-> pyhf workspace. Every Combine term maps to the HistFactory modifier that
// reproduces it best (combine.md §3.6); whatever still differs is reported, one line
// per nuisance, so users can judge the conversion instead of discovering it in a fit.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>
#include <hifit/histfactory/interpolation.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>

namespace hifit::datacard {

namespace {

// ---- shared helpers ---------------------------------------------------------------

// One character class of an fnmatch pattern at `p` ("[a-z]", "[!x]"); sets `next`.
bool match_set(std::string_view pat, std::size_t p, char c, std::size_t& next) {
    std::size_t i = p + 1;
    bool negate = i < pat.size() && pat[i] == '!';
    if (negate) ++i;
    bool found = false;
    std::size_t start = i;
    for (; i < pat.size() && (pat[i] != ']' || i == start); ++i) {
        if (i + 2 < pat.size() && pat[i + 1] == '-' && pat[i + 2] != ']') {
            found |= pat[i] <= c && c <= pat[i + 2];
            i += 2;
        } else {
            found |= pat[i] == c;
        }
    }
    if (i >= pat.size()) { // no closing bracket: a literal '['
        next = p + 1;
        return c == '[';
    }
    next = i + 1;
    return found != negate;
}

// Combine matches rateParam/autoMCStats bins and processes with Python's fnmatch.
bool glob_match(std::string_view pat, std::string_view text) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        std::size_t next = p + 1;
        if (p < pat.size() && pat[p] == '*') {
            star = p++;
            mark = t;
            continue;
        }
        if (p < pat.size() &&
            (pat[p] == '?' ||
             (pat[p] == '[' ? match_set(pat, p, text[t], next) : pat[p] == text[t]))) {
            p = next;
            ++t;
            continue;
        }
        if (star == std::string_view::npos) return false;
        p = star + 1;
        t = ++mark;
    }
    while (p < pat.size() && pat[p] == '*') ++p;
    return p == pat.size();
}

double total(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0);
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

// Lines in first-seen order, each at most once; `key` lets several nuisances share a
// wording while still being listed once per nuisance.
class Notes {
  public:
    void add(const std::string& key, std::string line) {
        if (keys_.insert(key).second) lines_.push_back(std::move(line));
    }
    void add(std::string line) { add(line, line); }
    std::vector<std::string> take() { return std::move(lines_); }

  private:
    std::set<std::string> keys_;
    std::vector<std::string> lines_;
};

Modifier modifier(std::string name, ModifierType type) {
    Modifier m;
    m.name = std::move(name);
    m.type = type;
    return m;
}

// C²-continuous smooth step of CMSHistFunc (q = 1): sign(x) outside |x| < 1.
double smooth_step(double x) {
    if (std::abs(x) >= 1.0) return x > 0 ? 1.0 : -1.0;
    double x2 = x * x;
    return x * (3.0 * x2 * x2 - 10.0 * x2 + 15.0) / 8.0;
}

// ---- Datacard -> workspace --------------------------------------------------------

struct CardReader {
    CardReader(const Datacard& c, const Templates& t, const CombineOptions& o)
        : card(c), templates(t), options(o) {}

    const Datacard& card;
    const Templates& templates;
    const CombineOptions& options;
    Notes notes;
    std::map<std::string, ParameterConfig> configs; // measurement entries by name
    std::vector<std::string> config_order;
    std::set<std::string> pois_used;

    std::string where(int line) const {
        return (card.source.empty() ? "<datacard>" : card.source) + ":" +
               std::to_string(line);
    }

    const Histogram* find(const std::string& bin, const std::string& process,
                          const std::string& variation) const {
        auto it = templates.find(TemplateKey{bin, process, variation});
        return it == templates.end() ? nullptr : &it->second;
    }

    ParameterConfig& config(const std::string& name) {
        auto [it, inserted] = configs.try_emplace(name);
        if (inserted) {
            it->second.name = name;
            config_order.push_back(name);
        }
        return it->second;
    }

    // The last autoMCStats line whose bin pattern matches (later lines override).
    const AutoMCStats* auto_stats(const std::string& bin) const {
        const AutoMCStats* found = nullptr;
        for (const auto& a : card.auto_mc_stats)
            if (glob_match(a.bin, bin)) found = &a;
        return found;
    }

    const Nuisance* constraint_of(const std::string& name) const {
        for (const auto& n : card.nuisances)
            if (n.kind == NuisanceKind::param && n.name == name) return &n;
        return nullptr;
    }

    std::string poi_of(const Column& col) const {
        if (col.process_id > 0) return {};
        if (options.poi_map.empty()) return "r";
        for (const auto& [pattern, poi] : options.poi_map)
            if (glob_match(pattern, col.process)) return poi;
        return {};
    }

    void check_supported() const {
        for (const auto& x : card.ext_args)
            throw InvalidModel(where(x.line) + ": extArg '" + x.name +
                               "' (a parameter for rateParam formulas) cannot be "
                               "expressed in a pyhf workspace");
        for (const auto& rp : card.rate_params) {
            if (rp.formula.empty()) continue;
            std::string args;
            for (const auto& a : rp.args) args += (args.empty() ? "" : ",") + a;
            throw InvalidModel(where(rp.line) + ": rateParam '" + rp.name +
                               "' is the formula " + rp.formula + " of " + args +
                               "; a pyhf normfactor cannot be a function of other "
                               "parameters (products and quotients of parameters are "
                               "not supported either)");
        }
    }

    ToWorkspace convert();
    Channel channel(std::size_t bin_index, Observation& obs);
    void add_nuisances(const Column& col, std::size_t ci, bool counting,
                       const AutoMCStats* stats, double scale, Sample& sample);
    Modifier shape_modifier(const Nuisance& n, const Effect& e, const Column& col,
                            const Histogram& up, const Histogram& down, double scale,
                            const std::vector<double>& nominal, bool hist_mode2);
    void add_measurement(WorkspaceSpec& spec);
};

Modifier normsys_from(const std::string& name, const Effect& e) {
    Modifier m = modifier(name, ModifierType::normsys);
    m.hi = e.hi;
    // Combine treats an asymmetric pair with lo*hi ~ 1 as symmetric kappa = hi.
    bool symmetric = !e.asymmetric || std::abs(e.lo * e.hi - 1.0) < 1e-5;
    m.lo = symmetric ? 1.0 / e.hi : e.lo;
    return m;
}

void note_lnN(Notes& notes, const Nuisance& n, const Effect& e) {
    const char* kind = n.kind == NuisanceKind::lnU ? "lnU" : "lnN";
    if (n.kind == NuisanceKind::lnU)
        notes.add(n.name,
                  std::string(kind) + " " + n.name +
                      ": the uniform constraint on [-1,1] is not representable; "
                      "written as a Gaussian-constrained normsys");
    else if (e.asymmetric && std::abs(e.lo * e.hi - 1.0) >= 1e-5)
        notes.add(n.name, "lnN " + n.name +
                              ": asymmetric kappa; Combine interpolates inside "
                              "|theta|<0.5, pyhf normsys code4 inside |alpha|<1 (equal "
                              "for |alpha|>=1)");
    else
        notes.add(n.name,
                  "lnN " + n.name +
                      ": Combine's kappa^theta vs pyhf normsys code4 polynomial "
                      "inside |alpha|<1 (exact with normsys interpcode code1)");
}

// A Combine shape nuisance as a histosys: hi/lo are Combine's yields at theta = +-1, so
// the two models agree there and at the nominal.
Modifier CardReader::shape_modifier(const Nuisance& n, const Effect& e,
                                    const Column& col, const Histogram& up,
                                    const Histogram& down, double scale,
                                    const std::vector<double>& nominal,
                                    bool hist_mode2) {
    const std::size_t nb = nominal.size();
    if (up.contents.size() != nb || down.contents.size() != nb)
        throw InvalidModel("bin " + col.bin + ", process " + col.process +
                           ": templates " + n.name + "Up/Down have " +
                           std::to_string(up.contents.size()) + "/" +
                           std::to_string(down.contents.size()) +
                           " bins, the nominal " + std::to_string(nb));
    std::vector<double> u(nb), d(nb);
    for (std::size_t b = 0; b < nb; ++b) {
        u[b] = scale * up.contents[b];
        d[b] = scale * down.contents[b];
    }
    Modifier m = modifier(n.name, ModifierType::histosys);
    const double eps = e.hi;
    if (eps == 1.0) {
        m.hi_data = std::move(u);
        m.lo_data = std::move(d);
        return m;
    }
    // Scale eps != 1: the templates sit at theta = +-1/eps; evaluate Combine's morph at
    // theta = +-1 (x = +-eps) instead.
    double s0 = total(nominal), su = total(u), sd = total(d);
    double khi = 1.0, klo = 1.0;
    if (!hist_mode2) {
        if (su <= 0 || sd <= 0 || s0 <= 0)
            throw InvalidModel("bin " + col.bin + ", process " + col.process +
                               ": shape " + n.name +
                               " has a template with a non-positive integral");
        for (std::size_t b = 0; b < nb; ++b) {
            u[b] *= s0 / su;
            d[b] *= s0 / sd;
        }
        khi = std::pow(su / s0, eps);
        klo = std::pow(sd / s0, eps);
    }
    m.hi_data.resize(nb);
    m.lo_data.resize(nb);
    for (std::size_t b = 0; b < nb; ++b) {
        double dp = u[b] - nominal[b], dm = d[b] - nominal[b];
        auto morph = [&](double x) {
            return 0.5 * x * (dp - dm) + 0.5 * x * (dp + dm) * smooth_step(x);
        };
        m.hi_data[b] = (nominal[b] + morph(eps)) * khi;
        m.lo_data[b] = (nominal[b] + morph(-eps)) * klo;
    }
    return m;
}

void CardReader::add_nuisances(const Column& col, std::size_t ci, bool counting,
                               const AutoMCStats* stats, double scale, Sample& sample) {
    const bool hist_mode2 = stats && stats->hist_mode == 2;
    // CMSHistFunc's smooth step uses q = min(1, smallest shape scale) for the column.
    double q = 1.0;
    for (const auto& n : card.nuisances) {
        bool shape = n.kind == NuisanceKind::shape || n.kind == NuisanceKind::shapeN ||
                     n.kind == NuisanceKind::shapeU ||
                     (n.kind == NuisanceKind::shape_optional &&
                      find(col.bin, col.process, n.name + "Up"));
        if (shape && n.effects.size() > ci && n.effects[ci].active)
            q = std::min(q, n.effects[ci].hi);
    }

    for (const auto& n : card.nuisances) {
        if (n.kind == NuisanceKind::param || n.kind == NuisanceKind::gmN) continue;
        if (n.effects.size() <= ci || !n.effects[ci].active) continue;
        const Effect& e = n.effects[ci];
        if (n.kind == NuisanceKind::lnN || n.kind == NuisanceKind::lnU) {
            if (e.hi == 1.0 && (!e.asymmetric || e.lo == 1.0)) continue;
            sample.modifiers.push_back(normsys_from(n.name, e));
            note_lnN(notes, n, e);
            continue;
        }
        const Histogram* up =
            counting ? nullptr : find(col.bin, col.process, n.name + "Up");
        const Histogram* down =
            counting ? nullptr : find(col.bin, col.process, n.name + "Down");
        if (!up || !down) {
            if (n.kind == NuisanceKind::shape_optional) { // shape? falls back to lnN
                sample.modifiers.push_back(normsys_from(n.name, e));
                note_lnN(notes, n, e);
                continue;
            }
            throw InvalidModel(where(n.line) + ": " + to_string(n.kind) +
                               " nuisance '" + n.name + "' has no templates " + n.name +
                               "Up/" + n.name + "Down for bin " + col.bin +
                               ", process " + col.process);
        }
        sample.modifiers.push_back(
            shape_modifier(n, e, col, *up, *down, scale, sample.data, hist_mode2));
        if (n.kind == NuisanceKind::shapeN)
            notes.add(n.name, "shapeN " + n.name +
                                  ": Combine morphs log(yield); pyhf histosys code4p "
                                  "morphs additively (equal at theta = 0, +-1)");
        else if (n.kind == NuisanceKind::shapeU)
            notes.add(n.name, "shapeU " + n.name +
                                  ": the uniform constraint on [-1,1] is not "
                                  "representable; written as a Gaussian histosys");
        else if (!hist_mode2)
            notes.add(n.name,
                      "shape " + n.name +
                          ": Combine splits shape (smooth-step morph) and "
                          "normalisation (log-normal inside |theta|<0.5); pyhf "
                          "histosys code4p morphs additively (equal at theta = 0, "
                          "+-1)");
        else if (e.hi != 1.0 || q != 1.0)
            notes.add(n.name,
                      "shape " + n.name + ": a shape scale != 1 on bin " + col.bin +
                          ", process " + col.process +
                          " changes Combine's morph; the histosys matches it at "
                          "theta = 0, +-1 only");
    }
    for (const auto& rp : card.rate_params) {
        if (!glob_match(rp.bin, col.bin) || !glob_match(rp.process, col.process))
            continue;
        bool dup = std::any_of(
            sample.modifiers.begin(), sample.modifiers.end(), [&](const Modifier& m) {
                return m.name == rp.name && m.type == ModifierType::normfactor;
            });
        if (dup) continue;
        // A Gaussian-constrained rateParam named lumi is exactly pyhf's lumi modifier.
        const Nuisance* param = constraint_of(rp.name);
        bool lumi = rp.name == "lumi" && param;
        sample.modifiers.push_back(
            modifier(rp.name, lumi ? ModifierType::lumi : ModifierType::normfactor));
        ParameterConfig& pc = config(rp.name);
        if (pc.inits) continue; // the first line defines the parameter
        if (lumi) {
            pc.inits = std::vector<double>{rp.init};
            pc.auxdata = std::vector<double>{param->mean};
            pc.sigmas = std::vector<double>{0.5 * (param->sigma_lo + param->sigma_hi)};
            auto range = rp.range ? rp.range : param->range;
            pc.bounds = std::vector<std::pair<double, double>>{range.value_or(std::pair{
                param->mean - 4 * param->sigma_lo, param->mean + 4 * param->sigma_hi})};
            continue;
        }
        pc.inits = std::vector<double>{rp.init};
        if (rp.range) {
            pc.bounds = std::vector<std::pair<double, double>>{*rp.range};
        } else {
            double hi = std::max(10.0, 10.0 * std::abs(rp.init));
            pc.bounds = std::vector<std::pair<double, double>>{{0.0, hi}};
            notes.add("rateParam " + rp.name +
                      ": unbounded in Combine, bounded to [0," + num(hi) +
                      "] in the workspace");
        }
    }
}

Channel CardReader::channel(std::size_t bi, Observation& obs) {
    const std::string& bin = card.bins[bi];
    const AutoMCStats* stats = auto_stats(bin);
    Channel ch{bin, {}};
    // Counting channels have no templates at all (no shapes line, or FAKE).
    bool counting = !find(bin, "data_obs", "");
    for (const auto& col : card.columns)
        if (col.bin == bin && find(bin, col.process, "")) counting = false;

    std::size_t nbins = 0;
    for (std::size_t ci = 0; ci < card.columns.size(); ++ci) {
        const Column& col = card.columns[ci];
        if (col.bin != bin) continue;
        const Nuisance* gmn = nullptr;
        for (const auto& n : card.nuisances)
            if (n.kind == NuisanceKind::gmN && n.effects.size() > ci &&
                n.effects[ci].active)
                gmn = &n;
        if (col.rate == 0.0) { // Combine drops zero-rate processes
            if (gmn)
                notes.add("gmN " + gmn->name + ": N = 0 for bin " + bin + ", process " +
                          col.process +
                          "; Combine keeps a 1e-6 yield times theta, the workspace "
                          "drops the process");
            continue;
        }

        Sample sample{col.process, {}, {}};
        double scale = 1.0;
        const Histogram* nominal = nullptr;
        if (counting) {
            if (col.rate < 0)
                throw InvalidModel("bin " + bin + ", process " + col.process +
                                   ": rate -1 needs a template, and the bin has none");
            double rate = gmn ? gmn->effects[ci].hi * gmn->gmn_events : col.rate;
            sample.data = {rate};
        } else {
            nominal = find(bin, col.process, "");
            if (!nominal)
                throw InvalidModel("bin " + bin + ", process " + col.process +
                                   ": no nominal template");
            double sum = total(nominal->contents);
            // Combine normalises templates to the card rate, except in autoMCStats
            // channels where the template carries the yield (rate: a 1 % check only).
            double target = gmn ? gmn->effects[ci].hi * gmn->gmn_events : col.rate;
            if (!stats && target >= 0) {
                if (sum == 0)
                    throw InvalidModel(
                        "bin " + bin + ", process " + col.process +
                        ": the nominal template is empty but the rate is " +
                        num(target));
                scale = target / sum;
            }
            sample.data = nominal->contents;
            for (double& v : sample.data) v *= scale;
        }
        if (nbins == 0) nbins = sample.data.size();
        if (sample.data.size() != nbins)
            throw InvalidModel("bin " + bin + ": process " + col.process + " has " +
                               std::to_string(sample.data.size()) +
                               " bins, an earlier one " + std::to_string(nbins));
        if (std::any_of(sample.data.begin(), sample.data.end(),
                        [](double v) { return v < 0; }))
            notes.add(
                "bin " + bin + ", process " + col.process +
                ": negative yields; Combine floors them at 1e-9, pyhf keeps them");

        std::string poi = poi_of(col);
        if (!poi.empty()) {
            sample.modifiers.push_back(modifier(poi, ModifierType::normfactor));
            pois_used.insert(poi);
        }
        add_nuisances(col, ci, counting, stats, scale, sample);

        if (gmn) { // yield alpha*theta, Poisson(N|theta) == shapesys with tau = N
            const double n_events = gmn->gmn_events;
            int uses = 0;
            for (std::size_t k = 0; k < gmn->effects.size(); ++k)
                uses += gmn->effects[k].active && card.columns[k].rate != 0.0;
            std::string name = gmn->name;
            if (uses > 1) {
                name += "_" + bin + "_" + col.process;
                notes.add(gmn->name + "/shared",
                          "gmN " + gmn->name +
                              ": shared by several processes; pyhf shapesys cannot be "
                              "shared, so each process gets its own parameter");
            }
            if (nbins > 1)
                notes.add(gmn->name + "/bins",
                          "gmN " + gmn->name +
                              ": one Poisson parameter for the whole template becomes "
                              "one shapesys gamma per bin");
            Modifier m = modifier(name, ModifierType::shapesys);
            for (double v : sample.data)
                m.data.push_back(n_events > 0 ? v / std::sqrt(n_events) : 0.0);
            sample.modifiers.push_back(std::move(m));
        }

        if (stats && stats->threshold >= 0 && nominal) {
            Modifier m = modifier("staterror_" + bin, ModifierType::staterror);
            bool any = false;
            for (std::size_t b = 0; b < nbins; ++b) {
                double w2 = b < nominal->sumw2.size() ? nominal->sumw2[b] : 0.0;
                m.data.push_back(std::sqrt(std::max(0.0, w2)) * scale);
                any |= w2 > 0;
            }
            if (any) sample.modifiers.push_back(std::move(m));
        }
        ch.samples.push_back(std::move(sample));
    }
    if (ch.samples.empty())
        throw InvalidModel("bin " + bin + ": no process with a non-zero rate");
    if (stats && stats->threshold >= 0 && !counting)
        notes.add("autoMCStats " + bin +
                  ": Combine's additive Barlow-Beeston-lite term "
                  "(theta * e_tot) becomes pyhf staterror (multiplicative gamma); "
                  "threshold " +
                  num(stats->threshold) +
                  " and its per-process Poisson switch are not kept");

    obs.name = bin;
    if (const Histogram* data = find(bin, "data_obs", "")) {
        obs.data = data->contents;
    } else if (bi < card.observation.size() && card.observation[bi] >= 0 &&
               nbins == 1) {
        obs.data = {card.observation[bi]};
    } else {
        throw InvalidModel("bin " + bin +
                           ": no observation (no data_obs template and no "
                           "usable 'observation' entry)");
    }
    if (obs.data.size() != nbins)
        throw InvalidModel("bin " + bin + ": data_obs has " +
                           std::to_string(obs.data.size()) + " bins, the processes " +
                           std::to_string(nbins));
    return ch;
}

void CardReader::add_measurement(WorkspaceSpec& spec) {
    Measurement meas{"combine", {}, {}};
    if (options.poi_map.empty()) meas.poi = "r";
    for (const auto& [pattern, poi] : options.poi_map)
        if (meas.poi.empty() && pois_used.count(poi)) meas.poi = poi;
    if (meas.poi.empty()) meas.poi = options.poi_map.front().second;
    for (const auto& poi : pois_used) {
        ParameterConfig& pc = config(poi);
        pc.inits = std::vector<double>{1.0};
        pc.bounds = std::vector<std::pair<double, double>>{options.poi_range};
    }

    std::set<std::string> normfactors, constrained, lumi_like;
    for (const auto& ch : spec.channels)
        for (const auto& s : ch.samples)
            for (const auto& m : s.modifiers)
                (m.type == ModifierType::normfactor ? normfactors
                 : m.type == ModifierType::lumi     ? lumi_like
                                                    : constrained)
                    .insert(m.name);
    for (const auto& n : card.nuisances) {
        if (n.kind != NuisanceKind::param) continue;
        if (lumi_like.count(n.name)) continue; // became pyhf's lumi modifier
        if (normfactors.count(n.name)) {
            notes.add("param " + n.name +
                      ": Gaussian constraint on a rateParam/POI; "
                      "pyhf cannot constrain a normfactor, so it is dropped");
        } else if (constrained.count(n.name)) {
            // A param line re-centres/re-scales the nuisance's Gaussian.
            ParameterConfig& pc = config(n.name);
            pc.auxdata = std::vector<double>{n.mean};
            pc.sigmas = std::vector<double>{0.5 * (n.sigma_lo + n.sigma_hi)};
            auto range = n.range.value_or(
                std::pair{n.mean - 4 * n.sigma_lo, n.mean + 4 * n.sigma_hi});
            pc.bounds = std::vector<std::pair<double, double>>{range};
            if (n.sigma_lo != n.sigma_hi)
                notes.add("param " + n.name + ": asymmetric widths -" +
                          num(n.sigma_lo) + "/+" + num(n.sigma_hi) +
                          " become the symmetric " + num(pc.sigmas->front()));
        } else {
            notes.add("param " + n.name +
                      ": no such parameter in the workspace; ignored");
        }
    }
    for (const auto& name : config_order) meas.parameters.push_back(configs[name]);
    spec.measurements.push_back(std::move(meas));
}

ToWorkspace CardReader::convert() {
    check_supported();
    if (card.bins.empty()) throw InvalidModel(where(0) + ": the card has no bins");
    WorkspaceSpec spec;
    for (std::size_t bi = 0; bi < card.bins.size(); ++bi) {
        Observation obs;
        spec.channels.push_back(channel(bi, obs));
        spec.observations.push_back(std::move(obs));
    }
    add_measurement(spec);
    return {std::move(spec), notes.take()};
}

} // namespace

ToWorkspace to_workspace(const Datacard& card, const Templates& templates,
                         const CombineOptions& options) {
    CardReader reader(card, templates, options);
    return reader.convert();
}

// ---- workspace -> Datacard --------------------------------------------------------

namespace {

struct Row {
    std::string name;
    bool gmn = false, lnn = false, shape = false;
    double gmn_events = 0.0;
    std::map<std::size_t, Effect> effects; // by column
};

struct WorkspaceReader {
    WorkspaceReader(const WorkspaceSpec& s, const std::string& file)
        : spec(s), shapes_file(file) {}

    const WorkspaceSpec& spec;
    const std::string& shapes_file;
    const Measurement* meas = nullptr;
    std::string poi;
    Notes notes;
    ToDatacard out;
    std::map<std::string, std::map<std::string, std::string>>
        safe_names; // kind: safe->orig
    std::vector<Row> rows;
    std::map<std::string, std::size_t> row_index;
    std::map<std::string, int> process_ids;
    bool lumi_param = false;

    const ParameterConfig* cfg(const std::string& name) const {
        if (!meas) return nullptr;
        for (const auto& p : meas->parameters)
            if (p.name == name) return &p;
        return nullptr;
    }
    bool fixed(const std::string& name) const {
        const ParameterConfig* c = cfg(name);
        return c && c->fixed.value_or(false) && name != poi;
    }
    double init(const std::string& name, double fallback, std::size_t bin = 0) const {
        const ParameterConfig* c = cfg(name);
        if (!c || !c->inits || c->inits->empty()) return fallback;
        return bin < c->inits->size() ? (*c->inits)[bin] : c->inits->front();
    }

    // Card tokens and ROOT object paths: letters, digits and '_' (bins must not start
    // with a digit). Renames are listed; two names mapping to one are an error.
    std::string rename(const std::string& kind, const std::string& name) {
        std::string safe = name;
        for (char& c : safe)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
        if (safe.empty() ||
            (kind == "channel" && std::isdigit(static_cast<unsigned char>(safe[0]))))
            safe = "ch_" + safe;
        auto [it, inserted] = safe_names[kind].emplace(safe, name);
        if (!inserted && it->second != name)
            throw InvalidModel(kind + " names '" + it->second + "' and '" + name +
                               "' both become '" + safe + "' in a datacard");
        if (safe != name)
            notes.add(kind + " '" + name + "' renamed to '" + safe +
                      "' (not a valid datacard name)");
        return safe;
    }

    Row& row(const std::string& name) {
        auto [it, inserted] = row_index.emplace(name, rows.size());
        if (inserted) {
            rows.emplace_back();
            rows.back().name = name;
        }
        return rows[it->second];
    }

    ToDatacard convert();
    void find_signals();
    Sample fold_fixed(const Sample& s, std::size_t nb);
    void add_sample(const std::string& cname, const Sample& s, std::size_t nb,
                    bool& has_stat);
    void add_shapesys(const Modifier& m, const std::string& cname,
                      const std::string& pname, const std::vector<double>& nominal);
    void add_rate_param(const std::string& name, const std::string& cname,
                        const std::string& pname);
    void finish_card();
};

// Signal processes are the samples carrying the POI; Combine scales a signal process
// by r in every bin, so the role must agree across channels.
void WorkspaceReader::find_signals() {
    std::map<std::string, std::pair<std::string, bool>>
        role; // sample -> (channel, poi)
    for (const auto& ch : spec.channels)
        for (const auto& s : ch.samples) {
            bool has = !poi.empty() &&
                       std::any_of(s.modifiers.begin(), s.modifiers.end(),
                                   [&](const Modifier& m) {
                                       return m.name == poi &&
                                              m.type == ModifierType::normfactor;
                                   });
            auto [it, inserted] = role.emplace(s.name, std::pair{ch.name, has});
            if (!inserted && it->second.second != has)
                throw InvalidModel(
                    "sample '" + s.name + "' carries the POI '" + poi +
                    "' in channel '" + (has ? ch.name : it->second.first) +
                    "' but not in channel '" + (has ? it->second.first : ch.name) +
                    "'; a Combine signal process is scaled by r in "
                    "every bin");
        }
    int next_signal = 0, next_background = 1;
    for (const auto& ch : spec.channels)
        for (const auto& s : ch.samples)
            if (!process_ids.count(s.name))
                process_ids[s.name] =
                    role[s.name].second ? next_signal-- : next_background++;
}

// Fixed parameters cannot be written into a card: fold their value into the templates
// (exact for pyhf's default interpolation codes). Shifts first, then factors, as pyhf
// evaluates (nominal + sum of histosys shifts) * product of factors.
Sample WorkspaceReader::fold_fixed(const Sample& s, std::size_t nb) {
    Sample w = s;
    w.modifiers.clear();
    std::vector<double> factor(nb, 1.0), shift(nb, 0.0);
    for (const auto& m : s.modifiers) {
        if (!fixed(m.name)) {
            w.modifiers.push_back(m);
            continue;
        }
        double a = init(m.name, m.type == ModifierType::normsys ||
                                        m.type == ModifierType::histosys
                                    ? 0.0
                                    : 1.0);
        for (std::size_t b = 0; b < nb; ++b) {
            switch (m.type) {
            case ModifierType::histosys:
                shift[b] +=
                    interp::code4p(m.lo_data[b], s.data[b], m.hi_data[b], a).value;
                break;
            case ModifierType::normsys:
                factor[b] *= interp::code4(m.lo, 1.0, m.hi, a).value;
                break;
            case ModifierType::normfactor:
            case ModifierType::lumi:
                factor[b] *= a;
                break;
            default: // per-bin parameters
                factor[b] *= init(m.name, 1.0, b);
                break;
            }
        }
        notes.add("parameter " + m.name + " is fixed in measurement '" + meas->name +
                  "': folded into the templates at its initial value");
    }
    for (std::size_t b = 0; b < nb; ++b) w.data[b] = (s.data[b] + shift[b]) * factor[b];
    for (auto& m : w.modifiers)
        for (std::size_t b = 0; b < nb; ++b) {
            if (m.type == ModifierType::histosys) {
                m.hi_data[b] = (m.hi_data[b] + shift[b]) * factor[b];
                m.lo_data[b] = (m.lo_data[b] + shift[b]) * factor[b];
            } else if (m.type == ModifierType::staterror ||
                       m.type == ModifierType::shapesys) {
                m.data[b] *= factor[b]; // keeps the relative uncertainty
            }
        }
    return w;
}

void WorkspaceReader::add_rate_param(const std::string& name, const std::string& cname,
                                     const std::string& pname) {
    RateParam rp;
    rp.name = rename("parameter", name);
    rp.bin = cname;
    rp.process = pname;
    const ParameterConfig* c = cfg(name);
    rp.init = init(name, 1.0);
    if (c && c->bounds && !c->bounds->empty())
        rp.range = c->bounds->front();
    else if (name != "lumi")
        rp.range = std::pair{0.0, 10.0}; // pyhf's normfactor default
    out.card.rate_params.push_back(std::move(rp));
}

// pyhf shapesys: gamma_b with Poisson(tau_b | gamma_b tau_b), tau = (nominal/sigma)^2.
// A one-bin sample with integer tau is exactly Combine's gmN (yield alpha*theta,
// Poisson(N | theta)); otherwise one Gaussian shape nuisance per bin.
void WorkspaceReader::add_shapesys(const Modifier& m, const std::string& cname,
                                   const std::string& pname,
                                   const std::vector<double>& nominal) {
    const std::string base = rename("parameter", m.name);
    const std::size_t col = out.card.columns.size();
    const std::size_t nb = nominal.size();
    if (nb == 1 && nominal[0] > 0 && m.data[0] > 0) {
        double tau = std::pow(nominal[0] / m.data[0], 2);
        double n = std::round(tau);
        if (n >= 1 && std::abs(tau - n) <= 1e-6 * tau) {
            Row& r = row(base);
            r.gmn = true;
            r.gmn_events = n;
            r.effects[col] = Effect{true, false, 0.0, nominal[0] / n};
            return;
        }
    }
    notes.add(
        "shapesys " + m.name +
        ": each Poisson-constrained bin gamma becomes a Gaussian shape nuisance " +
        base + "_bin<j> (same mean and variance)");
    for (std::size_t b = 0; b < nb; ++b) {
        if (!(nominal[b] > 0 && m.data[b] > 0)) continue; // pyhf fixes these gammas
        std::string name = base + "_bin" + std::to_string(b);
        row(name).shape = true;
        row(name).effects[col] = Effect{true, false, 0.0, 1.0};
        Histogram up{nominal, std::vector<double>(nb, 0.0), {}}, down = up;
        up.contents[b] += m.data[b];
        down.contents[b] -= m.data[b];
        out.templates[{cname, pname, name + "Up"}] = std::move(up);
        out.templates[{cname, pname, name + "Down"}] = std::move(down);
    }
}

void WorkspaceReader::add_sample(const std::string& cname, const Sample& original,
                                 std::size_t nb, bool& has_stat) {
    if (original.name == "data_obs")
        throw InvalidModel("channel '" + cname +
                           "': a sample named 'data_obs' clashes with Combine's data");
    const std::string pname = rename("process", original.name);
    const Sample s = fold_fixed(original, nb);
    const std::size_t col = out.card.columns.size();
    std::vector<double> sumw2(nb, 0.0);
    std::map<std::string, const Modifier*> normsys;
    std::set<std::string> histosys;
    for (const auto& m : s.modifiers) {
        if (m.type == ModifierType::normsys) normsys[m.name] = &m;
        if (m.type == ModifierType::histosys) histosys.insert(m.name);
    }
    for (const auto& m : s.modifiers) {
        switch (m.type) {
        case ModifierType::normfactor:
            if (m.name != poi) add_rate_param(m.name, cname, pname);
            break;
        case ModifierType::lumi:
            add_rate_param(m.name, cname, pname);
            lumi_param = true;
            break;
        case ModifierType::normsys: {
            if (histosys.count(m.name)) break; // merged into the shape below
            Row& r = row(rename("parameter", m.name));
            r.lnn = true;
            bool symmetric = std::abs(m.lo * m.hi - 1.0) < 1e-12;
            r.effects[col] = Effect{true, !symmetric, symmetric ? 0.0 : m.lo, m.hi};
            notes.add(
                "normsys " + m.name,
                "normsys " + m.name +
                    ": Combine's lnN is kappa^theta (asymmetric: polynomial "
                    "inside |theta|<0.5) where pyhf code4 uses a polynomial inside "
                    "|alpha|<1; equal for |alpha|>=1");
            break;
        }
        case ModifierType::histosys: {
            const std::string name = rename("parameter", m.name);
            Histogram up{m.hi_data, std::vector<double>(nb, 0.0), {}};
            Histogram down{m.lo_data, std::vector<double>(nb, 0.0), {}};
            if (auto it = normsys.find(m.name); it != normsys.end()) {
                for (double& v : up.contents) v *= it->second->hi;
                for (double& v : down.contents) v *= it->second->lo;
                notes.add("normsys+histosys " + m.name + " on " + original.name,
                          "normsys+histosys " + m.name + " on channel " + cname +
                              ", sample " + original.name +
                              ": one Combine shape with both effects in its templates "
                              "(equal at alpha = 0, +-1)");
            }
            out.templates[{cname, pname, name + "Up"}] = std::move(up);
            out.templates[{cname, pname, name + "Down"}] = std::move(down);
            row(name).shape = true;
            row(name).effects[col] = Effect{true, false, 0.0, 1.0};
            break;
        }
        case ModifierType::staterror:
            for (std::size_t b = 0; b < nb; ++b) sumw2[b] += m.data[b] * m.data[b];
            has_stat = true;
            notes.add(
                "staterror " + m.name,
                "staterror " + m.name +
                    ": Combine's autoMCStats adds theta * e_tot per bin (additive "
                    "Barlow-Beeston-lite) where pyhf multiplies by gamma; equal to "
                    "first order");
            break;
        case ModifierType::shapesys:
            add_shapesys(m, cname, pname, s.data);
            break;
        case ModifierType::shapefactor:
            throw InvalidModel("shapefactor '" + m.name + "' on channel '" + cname +
                               "', sample '" + original.name +
                               "': Combine has no free per-bin factor");
        }
    }
    double rate = total(s.data);
    if (std::any_of(s.data.begin(), s.data.end(), [](double v) { return v < 0; }))
        notes.add("channel " + cname + ", sample " + original.name +
                  ": negative yields; Combine floors them at 1e-9, pyhf keeps them");
    if (rate == 0.0)
        notes.add("channel " + cname + ", sample " + original.name +
                  ": zero nominal yield; Combine drops a process with rate 0");
    out.templates[{cname, pname, ""}] = Histogram{s.data, std::move(sumw2), {}};
    out.card.columns.push_back(
        Column{cname, pname, process_ids.at(original.name), rate});
}

void WorkspaceReader::finish_card() {
    Datacard& card = out.card;
    for (auto& r : rows) {
        Nuisance n;
        n.name = r.name;
        n.kind = r.gmn              ? NuisanceKind::gmN
                 : r.lnn && r.shape ? NuisanceKind::shape_optional
                 : r.shape          ? NuisanceKind::shape
                                    : NuisanceKind::lnN;
        n.gmn_events = r.gmn_events;
        n.effects.assign(card.columns.size(), Effect{});
        for (const auto& [col, e] : r.effects) n.effects[col] = e;
        card.nuisances.push_back(std::move(n));
    }
    if (lumi_param) { // pyhf lumi: Gaus(auxdata | lumi, sigma) on a free factor
        const ParameterConfig* c = cfg("lumi");
        if (!c || !c->sigmas || c->sigmas->empty())
            throw InvalidModel("the lumi modifier needs 'sigmas' in the measurement's "
                               "parameter config");
        Nuisance n;
        n.name = "lumi";
        n.kind = NuisanceKind::param;
        n.mean = c->auxdata && !c->auxdata->empty() ? c->auxdata->front() : 1.0;
        n.sigma_lo = n.sigma_hi = c->sigmas->front();
        if (c->bounds && !c->bounds->empty()) n.range = c->bounds->front();
        card.nuisances.push_back(std::move(n));
    }
    for (const auto& p : meas ? meas->parameters : std::vector<ParameterConfig>{}) {
        bool custom =
            (p.auxdata && p.auxdata->size() == 1 && p.auxdata->front() != 0.0) ||
            (p.sigmas && p.sigmas->size() == 1 && p.sigmas->front() != 1.0);
        if (custom && p.name != "lumi" && row_index.count(p.name))
            notes.add("parameter " + p.name +
                      ": auxdata/sigmas from the measurement are not kept (Combine "
                      "constrains it with a unit Gaussian)");
    }
}

ToDatacard WorkspaceReader::convert() {
    poi = meas ? meas->poi : std::string{};
    find_signals();
    Datacard& card = out.card;
    card.source = "<workspace>";
    card.shapes.push_back(ShapeLine{"*", "*", shapes_file, "$CHANNEL/$PROCESS",
                                    "$CHANNEL/$PROCESS_$SYSTEMATIC", 0});
    for (const auto& ch : spec.channels) {
        const std::string cname = rename("channel", ch.name);
        auto obs =
            std::find_if(spec.observations.begin(), spec.observations.end(),
                         [&](const Observation& o) { return o.name == ch.name; });
        if (obs == spec.observations.end())
            throw InvalidModel("channel '" + ch.name + "' has no observation");
        if (ch.samples.empty())
            throw InvalidModel("channel '" + ch.name + "' has no samples");
        const std::size_t nb = ch.samples.front().data.size();
        card.bins.push_back(cname);
        card.observation.push_back(total(obs->data));
        out.templates[{cname, "data_obs", ""}] = Histogram{obs->data, obs->data, {}};
        bool has_stat = false;
        for (const auto& s : ch.samples) add_sample(cname, s, nb, has_stat);
        // CMSHistFunc in hist_mode 2 morphs the raw templates with the same polynomial
        // as pyhf's histosys code4p; threshold -1 selects it without MC-stat nuisances.
        card.auto_mc_stats.push_back(
            AutoMCStats{cname, has_stat ? 0.0 : -1.0, true, 2, 0});
    }
    finish_card();

    bool has_signal = std::any_of(card.columns.begin(), card.columns.end(),
                                  [](const Column& c) { return c.process_id <= 0; });
    if (!has_signal) {
        notes.add("no sample carries the POI" + (poi.empty() ? "" : " '" + poi + "'") +
                  ": the card has no signal process (Combine needs "
                  "--X-allow-no-signal)");
    } else {
        std::pair<double, double> range{0.0, 10.0};
        if (const ParameterConfig* c = cfg(poi); c && c->bounds && !c->bounds->empty())
            range = c->bounds->front();
        if (poi != "r" || range != std::pair{0.0, 20.0})
            notes.add("POI " + poi + " becomes Combine's signal strength r (range [" +
                      num(range.first) + "," + num(range.second) +
                      "]: pass --rMin/--rMax or a physics model to keep it)");
        if (const ParameterConfig* c = cfg(poi); c && c->fixed.value_or(false))
            notes.add("POI " + poi +
                      " is fixed in the measurement: freeze r in Combine");
    }
    out.inexact = notes.take();
    return std::move(out);
}

} // namespace

ToDatacard to_datacard(const WorkspaceSpec& spec, const std::string& shapes_file,
                       const std::string& measurement) {
    WorkspaceReader reader(spec, shapes_file);
    if (!spec.measurements.empty()) {
        reader.meas = &spec.measurements.front();
        if (!measurement.empty()) {
            reader.meas = nullptr;
            for (const auto& m : spec.measurements)
                if (m.name == measurement) reader.meas = &m;
        }
    }
    if (!reader.meas && !measurement.empty())
        throw InvalidArgument("to_datacard: no measurement named '" + measurement +
                              "'");
    return reader.convert();
}

} // namespace hifit::datacard
