// Builds Combine's binned model from a datacard and its templates, as
// text2workspace.py does for TH1 shapes (see combine_data.hpp for the equations).
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include "combine/main_terms.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

namespace hifit::datacard {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// '*' and '?' wildcards, without recursion (it was one call per character: a stack
// overflow for names of ~100 k characters): on a mismatch, the last '*' takes one more
// character.
bool glob_match(std::string_view pattern, std::string_view text) {
    constexpr auto none = std::string_view::npos;
    std::size_t p = 0, t = 0, star = none, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (star != none) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

// A physics-model map key: a process glob, or "BIN/PROCESS" globs (Combine's
// multiSignalModel map syntax) to scale one channel's signal on its own.
bool poi_glob_match(std::string_view pattern, std::string_view bin,
                    std::string_view process) {
    const std::size_t slash = pattern.find('/');
    if (slash == std::string_view::npos) return glob_match(pattern, process);
    return glob_match(pattern.substr(0, slash), bin) &&
           glob_match(pattern.substr(slash + 1), process);
}

// Combine copies templates into TH1F: contents are single precision.
std::vector<double> as_float32(const std::vector<double>& v) {
    std::vector<double> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
    return out;
}

double sum_of(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0);
}

// Shape-normalisation kappas are written with "%f" by text2workspace.
double round6(double x) {
    return std::round(x * 1e6) / 1e6;
}

struct Param {
    std::string name;
    double init = 0.0, lo = -inf, hi = inf;
    Constraint constraint = Constraint::none;
    ModifierType type = ModifierType::normfactor;
    bool fixed = false;
    double aux = 0.0, sigma = 1.0; // Gaussian
    double tau = 1.0;              // Poisson: rate tau * theta, observed aux
};

// A monomial coeff * prod args^powers parsed from a formula rateParam.
struct Monomial {
    double coeff = 1.0;
    std::map<std::size_t, double> powers; // argument index -> exponent
};

class FormulaParser {
  public:
    FormulaParser(std::string_view text, const std::string& where)
        : text_(text), where_(where) {}
    Monomial parse() {
        Monomial m = product();
        skip_space();
        if (pos_ != text_.size()) fail();
        return m;
    }

  private:
    Monomial product() {
        Monomial m = factor();
        for (;;) {
            skip_space();
            if (pos_ >= text_.size() || (text_[pos_] != '*' && text_[pos_] != '/'))
                return m;
            const bool divide = text_[pos_++] == '/';
            Monomial f = factor();
            m.coeff = divide ? m.coeff / f.coeff : m.coeff * f.coeff;
            for (auto [k, p] : f.powers) m.powers[k] += divide ? -p : p;
        }
    }
    Monomial factor() {
        skip_space();
        if (pos_ >= text_.size()) fail();
        Monomial m;
        if (text_[pos_] == '(') {
            ++pos_;
            m = product();
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ')') fail();
            ++pos_;
        } else if (text_[pos_] == '@') {
            ++pos_;
            std::size_t k = 0, digits = 0;
            while (pos_ < text_.size() &&
                   std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
                k = k * 10 + static_cast<std::size_t>(text_[pos_++] - '0');
                if (++digits > 4) fail();
            }
            if (digits == 0) fail();
            m.powers[k] = 1.0;
        } else {
            std::size_t used = 0;
            const std::string rest(text_.substr(pos_));
            try {
                m.coeff = std::stod(rest, &used);
            } catch (const std::exception&) {
                fail();
            }
            pos_ += used;
        }
        return m;
    }
    void skip_space() {
        while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    }
    [[noreturn]] void fail() const {
        throw InvalidModel(where_ + ": formula rateParam \"" + std::string(text_) +
                           "\": only products and quotients of @N arguments and "
                           "numbers are supported");
    }
    std::string_view text_;
    std::string where_;
    std::size_t pos_ = 0;
};

class Builder {
  public:
    Builder(const Datacard& card, const Templates& templates, const CombineOptions& opt)
        : card_(card), templates_(templates), opt_(opt) {}

    CombineModel build();

  private:
    std::string where(int line) const {
        return card_.source + ":" + std::to_string(line);
    }
    const Histogram* find(const std::string& ch, const std::string& proc,
                          const std::string& var) const {
        auto it = templates_.find(TemplateKey{ch, proc, var});
        if (it == templates_.end()) return nullptr;
        // A NaN or infinite bin leaves every likelihood undefined: an input error.
        const auto& contents = it->second.contents;
        for (std::size_t b = 0; b < contents.size(); ++b)
            if (!std::isfinite(contents[b]))
                throw InvalidModel(card_.source + ": bin " + ch + ", process " + proc +
                                   (var.empty() ? "" : ", template " + var) +
                                   ": histogram bin " + std::to_string(b + 1) + " is " +
                                   (std::isnan(contents[b]) ? "nan" : "infinite") +
                                   ", expected a finite number");
        return &it->second;
    }
    std::size_t add_param(Param p) {
        auto it = index_.find(p.name);
        if (it != index_.end()) return it->second;
        index_[p.name] = params_.size();
        params_.push_back(std::move(p));
        return params_.size() - 1;
    }
    void setup_channels();
    void setup_parameters();
    void add_process(const Column& col, std::size_t column);
    void add_stat_terms();
    void finish();
    // A gmN with N = 0 keeps its column although the card rate is 0.
    bool has_empty_gmn(std::size_t column) const {
        for (const Nuisance& n : card_.nuisances)
            if (n.kind == NuisanceKind::gmN && n.gmn_events == 0.0 &&
                column < n.effects.size() && n.effects[column].active)
                return true;
        return false;
    }

    struct ChannelInfo {
        std::size_t offset = 0, nbins = 1;
        bool shapes = false;
        const AutoMCStats* stats = nullptr;
    };
    // Per process: nominal template (absolute yields in autoMCStats channels), errors.
    struct ProcessInfo {
        std::size_t channel = 0;
        std::string name;
        bool signal = false;
        std::vector<double> nominal, errors;
        double init_norm = 1.0;
    };

    const Datacard& card_;
    const Templates& templates_;
    const CombineOptions& opt_;
    std::vector<ChannelInfo> channels_;
    std::vector<Param> params_;
    std::map<std::string, std::size_t> index_;
    std::vector<std::size_t> pois_;
    std::vector<ProcessInfo> info_;
    std::vector<std::string> notes_;
    std::shared_ptr<ModelData> md_ = std::make_shared<ModelData>();
    std::shared_ptr<CombineTerms> cd_ = std::make_shared<CombineTerms>();
};

void Builder::setup_channels() {
    std::size_t offset = 0;
    for (const std::string& bin : card_.bins) {
        ChannelInfo ch;
        ch.offset = offset;
        auto it = templates_.lower_bound(TemplateKey{bin, "", ""});
        if (it != templates_.end() && it->first.channel == bin) {
            ch.shapes = true;
            ch.nbins = it->second.contents.size();
        }
        for (const AutoMCStats& a : card_.auto_mc_stats)
            if (ch.shapes && glob_match(a.bin, bin)) ch.stats = &a;
        offset += ch.nbins;
        channels_.push_back(ch);
        md_->channels.push_back(bin);
        md_->channel_nbins.push_back(ch.nbins);
        md_->channel_offset.push_back(ch.offset);
    }
    md_->nmain = offset;
    cd_->masked.assign(offset, 0);
    for (const std::string& m : opt_.masked_channels) {
        auto it = std::find(card_.bins.begin(), card_.bins.end(), m);
        if (it == card_.bins.end())
            throw InvalidArgument("cannot mask channel \"" + m + "\": the card " +
                                  card_.source + " has no such bin");
        const ChannelInfo& ch =
            channels_[static_cast<std::size_t>(it - card_.bins.begin())];
        std::fill_n(cd_->masked.begin() + static_cast<long>(ch.offset), ch.nbins, 1);
    }
}

void Builder::setup_parameters() {
    // POIs first: "r" on every signal, or the physics-model map.
    const auto [lo, hi] = opt_.poi_range;
    if (opt_.poi_map.empty()) {
        pois_.push_back(add_param({"r", 1.0, lo, hi}));
    } else {
        for (const auto& [glob, name] : opt_.poi_map)
            pois_.push_back(add_param({name, 1.0, lo, hi}));
    }
    for (const Nuisance& n : card_.nuisances) {
        Param p{n.name};
        switch (n.kind) {
        case NuisanceKind::lnN:
        case NuisanceKind::shapeN:
            p.lo = -7.0, p.hi = 7.0;
            p.constraint = Constraint::normal;
            p.type = n.kind == NuisanceKind::lnN ? ModifierType::normsys
                                                 : ModifierType::histosys;
            break;
        case NuisanceKind::shape:
        case NuisanceKind::shape_optional:
            p.lo = -4.0, p.hi = 4.0;
            p.constraint = Constraint::normal;
            p.type = ModifierType::histosys;
            break;
        case NuisanceKind::lnU:
        case NuisanceKind::shapeU:
            p.lo = -1.0, p.hi = 1.0;
            p.type = n.kind == NuisanceKind::lnU ? ModifierType::normsys
                                                 : ModifierType::histosys;
            break;
        case NuisanceKind::gmN:
            p.constraint = Constraint::poisson;
            p.type = ModifierType::shapesys;
            if (n.gmn_events > 0.0) { // gamma = theta / N, Poisson(N | N gamma)
                p.tau = p.aux = n.gmn_events;
                p.init = 1.0;
                p.lo = 0.0;
                p.hi = 1.0 + 7.0 * (1.0 + 1.0 / std::sqrt(n.gmn_events));
            } else { // theta itself, Poisson(0 | theta)
                p.init = 0.0, p.lo = 0.0, p.hi = 10.0;
            }
            break;
        case NuisanceKind::param:
            continue; // constraints on other parameters, below
        }
        add_param(p);
    }
    for (const RateParam& r : card_.rate_params) {
        if (!r.formula.empty()) continue;
        Param p{r.name, r.init};
        if (r.range) std::tie(p.lo, p.hi) = *r.range;
        add_param(p);
    }
    for (const ExtArg& e : card_.ext_args) {
        Param p{e.name, e.init};
        if (e.range)
            std::tie(p.lo, p.hi) = *e.range;
        else
            p.fixed = true;
        add_param(p);
    }
    for (const Nuisance& n : card_.nuisances) {
        if (n.kind != NuisanceKind::param) continue;
        const double sigma = 0.5 * (n.sigma_lo + n.sigma_hi);
        if (n.sigma_lo != n.sigma_hi)
            notes_.push_back(where(n.line) + ": asymmetric param " + n.name +
                             " uses a symmetric Gaussian of width " +
                             std::to_string(sigma));
        std::size_t k = add_param({n.name, n.mean});
        Param& p = params_[k];
        p.constraint = Constraint::normal;
        p.aux = n.mean;
        p.sigma = sigma;
        if (p.type == ModifierType::normfactor) p.type = ModifierType::lumi;
        if (n.range)
            std::tie(p.lo, p.hi) = *n.range;
        else if (p.type == ModifierType::lumi)
            p.lo = n.mean - 4.0 * n.sigma_lo, p.hi = n.mean + 4.0 * n.sigma_hi;
        p.fixed = false;
    }
}

void Builder::add_process(const Column& col, std::size_t column) {
    const std::size_t ch_index = static_cast<std::size_t>(
        std::find(card_.bins.begin(), card_.bins.end(), col.bin) - card_.bins.begin());
    if (ch_index >= card_.bins.size())
        throw InvalidModel(card_.source + ": process " + col.process + " is in bin \"" +
                           col.bin + "\", which the bin line does not declare");
    const ChannelInfo& ch = channels_[ch_index];
    const bool stats = ch.stats != nullptr;
    const int hist_mode = stats ? ch.stats->hist_mode : 1;
    const std::string what = "bin " + col.bin + ", process " + col.process;
    CombineTerms& cd = *cd_;
    CombineProcess pr;
    pr.bin_offset = static_cast<std::uint32_t>(ch.offset);
    pr.nbins = static_cast<std::uint32_t>(ch.nbins);
    pr.cell_offset = static_cast<std::uint32_t>(cd.ncells);
    pr.factor_begin = static_cast<std::uint32_t>(cd.factors.size());
    pr.morph_begin = static_cast<std::uint32_t>(cd.morphs.size());
    ProcessInfo info;
    info.channel = ch_index;
    info.name = col.process;
    info.signal = card_.is_signal(col.process);

    // Nominal template and normalisation.
    std::vector<double> nominal{1.0};
    double n0 = col.rate;
    double raw_sum = 1.0;
    if (ch.shapes) {
        const Histogram* h = find(col.bin, col.process, "");
        if (!h)
            throw InvalidModel(card_.source + ": " + what + ": no nominal template");
        if (h->contents.size() != ch.nbins)
            throw InvalidModel(card_.source + ": " + what + ": template has " +
                               std::to_string(h->contents.size()) +
                               " bins, the channel " + std::to_string(ch.nbins));
        nominal = as_float32(h->contents);
        raw_sum = sum_of(nominal);
        info.errors.resize(ch.nbins);
        for (std::size_t b = 0; b < ch.nbins; ++b)
            info.errors[b] =
                b < h->sumw2.size() ? std::sqrt(std::max(0.0, h->sumw2[b])) : 0.0;
        if (col.rate != -1.0 && opt_.check_norm &&
            std::abs(col.rate - raw_sum) > 0.01 * std::max(1.0, col.rate))
            throw InvalidModel(card_.source + ": mismatch in normalizations for " +
                               what + ": rate " + std::to_string(col.rate) +
                               ", template integral " + std::to_string(raw_sum));
        if (stats) {
            n0 = 1.0; // the template carries the yield
        } else {
            if (raw_sum == 0.0)
                throw InvalidModel(card_.source + ": " + what +
                                   ": null norm (empty nominal template)");
            if (col.rate == -1.0) n0 = raw_sum;
            for (double& v : nominal) v /= raw_sum;
            for (double& e : info.errors) e /= raw_sum;
        }
    } else if (col.rate == -1.0) {
        throw InvalidModel(card_.source + ": " + what +
                           ": rate -1 needs a template, but the bin has no shapes");
    }
    const double sum0 = sum_of(nominal);

    std::vector<std::uint32_t> norm_pars, shape_pars;
    auto local_of = [](std::vector<std::uint32_t>& list, std::size_t par) {
        auto it = std::find(list.begin(), list.end(), par);
        if (it != list.end()) return static_cast<std::uint32_t>(it - list.begin());
        list.push_back(static_cast<std::uint32_t>(par));
        return static_cast<std::uint32_t>(list.size() - 1);
    };
    auto add_factor = [&](CombineFactor f) {
        f.local = local_of(norm_pars, f.par);
        cd.factors.push_back(f);
        const Param& p = params_[f.par];
        if (f.kind == CombineFactor::linear)
            info.init_norm *= f.coeff * p.init;
        else if (f.kind == CombineFactor::power)
            info.init_norm *= f.coeff * std::pow(p.init, f.exponent);
    };
    auto add_log_normal = [&](std::size_t par, double ln_hi, double ln_lo) {
        CombineFactor f;
        f.par = static_cast<std::uint32_t>(par);
        f.kind = CombineFactor::log_normal;
        f.ln_hi = ln_hi;
        f.ln_lo = ln_lo;
        add_factor(f);
    };
    auto add_lnn = [&](std::size_t par, const Effect& e, const Nuisance& n) {
        if (e.hi <= 0.0 || (e.asymmetric && e.lo <= 0.0))
            throw InvalidModel(where(n.line) + ": " + n.name + " for " + what +
                               ": log-normal factors must be positive");
        if (e.asymmetric)
            add_log_normal(par, std::log(e.hi), std::log(e.lo));
        else
            add_log_normal(par, std::log(e.hi), -std::log(e.hi));
    };

    // POIs.
    if (info.signal) {
        if (opt_.poi_map.empty()) {
            add_factor({static_cast<std::uint32_t>(pois_[0])});
        } else {
            for (std::size_t i = 0; i < opt_.poi_map.size(); ++i)
                if (poi_glob_match(opt_.poi_map[i].first, col.bin, col.process)) {
                    add_factor({static_cast<std::uint32_t>(pois_[i])});
                    break;
                }
        }
    }
    // rateParams, plain and formulas.
    for (const RateParam& r : card_.rate_params) {
        if (!glob_match(r.bin, col.bin) || !glob_match(r.process, col.process))
            continue;
        if (r.formula.empty()) {
            add_factor({static_cast<std::uint32_t>(index_.at(r.name))});
            continue;
        }
        const Monomial m = FormulaParser(r.formula, where(r.line)).parse();
        n0 *= m.coeff;
        for (auto [k, power] : m.powers) {
            if (k >= r.args.size())
                throw InvalidModel(where(r.line) + ": formula uses @" +
                                   std::to_string(k) + " but lists " +
                                   std::to_string(r.args.size()) + " arguments");
            auto it = index_.find(r.args[k]);
            if (it == index_.end())
                throw InvalidModel(where(r.line) + ": formula argument \"" + r.args[k] +
                                   "\" is not a parameter of the card");
            CombineFactor f;
            f.par = static_cast<std::uint32_t>(it->second);
            f.kind = power == 1.0 ? CombineFactor::linear : CombineFactor::power;
            f.exponent = power;
            add_factor(f);
        }
    }

    // Systematics of this column.
    std::vector<double> log_nominal;
    bool any_log = false, any_add = false;
    std::vector<std::pair<const Nuisance*, double>> shape_rows; // with templates
    for (const Nuisance& n : card_.nuisances) {
        if (n.kind == NuisanceKind::param || column >= n.effects.size()) continue;
        const Effect& e = n.effects[column];
        if (!e.active) continue;
        const std::size_t par = index_.at(n.name);
        switch (n.kind) {
        case NuisanceKind::lnN:
        case NuisanceKind::lnU:
            add_lnn(par, e, n);
            break;
        case NuisanceKind::gmN: {
            CombineFactor f{static_cast<std::uint32_t>(par)};
            if (n.gmn_events > 0.0) {
                f.coeff = 1.0; // rate already alpha * N
            } else {
                if (ch.shapes)
                    throw InvalidModel(where(n.line) + ": gmN 0 in a shape bin (" +
                                       what + ") is not supported");
                f.coeff = e.hi; // yield alpha * theta
                n0 = 1.0;
            }
            add_factor(f);
            break;
        }
        case NuisanceKind::shape_optional:
            if (!ch.shapes || !find(col.bin, col.process, n.name + "Up")) {
                add_lnn(par, e, n);
                break;
            }
            [[fallthrough]];
        case NuisanceKind::shape:
        case NuisanceKind::shapeN:
        case NuisanceKind::shapeU:
            if (!ch.shapes)
                throw InvalidModel(where(n.line) + ": shape nuisance " + n.name +
                                   " acts on " + what + ", which has no templates");
            shape_rows.emplace_back(&n, e.hi);
            (n.kind == NuisanceKind::shapeN ? any_log : any_add) = true;
            break;
        case NuisanceKind::param:
            break;
        }
    }
    if (any_log && any_add)
        notes_.push_back(card_.source + ": " + what +
                         " mixes shape and shapeN; all are morphed in log space");
    pr.log_morph = any_log;
    double q = 1.0;
    for (const auto& [n, scale] : shape_rows) {
        const Histogram* up = find(col.bin, col.process, n->name + "Up");
        const Histogram* down = find(col.bin, col.process, n->name + "Down");
        if (!up || !down)
            throw InvalidModel(where(n->line) + ": " + what + ": missing template " +
                               n->name + (up ? "Down" : "Up"));
        if (up->contents.size() != ch.nbins || down->contents.size() != ch.nbins)
            throw InvalidModel(where(n->line) + ": " + what + ": templates of " +
                               n->name + " do not have the nominal's " +
                               std::to_string(ch.nbins) + " bins");
        std::vector<double> hi = as_float32(up->contents),
                            lo = as_float32(down->contents);
        const double su = sum_of(hi), sd = sum_of(lo);
        const std::size_t par = index_.at(n->name);
        if (!stats || hist_mode == 1) {
            if (su <= 0.0 || sd <= 0.0)
                throw InvalidModel(where(n->line) + ": " + what + ": bogus norm of " +
                                   n->name + " templates (integrals " +
                                   std::to_string(sd) + ", " + std::to_string(su) +
                                   ")");
            const double k_hi = round6(std::pow(su / raw_sum, scale));
            const double k_lo = round6(std::pow(sd / raw_sum, scale));
            if (std::abs(k_hi - 1.0) >= 1e-3 || std::abs(k_lo - 1.0) >= 1e-3)
                add_log_normal(par, std::log(k_hi), std::log(k_lo));
            // shape only: templates rescaled to the nominal (its own sum in
            // unit-normalised channels)
            for (double& v : hi) v *= sum0 / su;
            for (double& v : lo) v *= sum0 / sd;
        }
        CombineMorph mo;
        mo.par = static_cast<std::uint32_t>(par);
        mo.local = local_of(shape_pars, par);
        mo.scale = scale;
        mo.offset = static_cast<std::uint32_t>(cd.deltas.size());
        q = std::min(q, scale);
        std::vector<double> sum(ch.nbins), diff(ch.nbins);
        for (std::size_t b = 0; b < ch.nbins; ++b) {
            double dp, dm;
            if (pr.log_morph) {
                // a side whose template or nominal is empty does not move the bin
                dp = nominal[b] > 0.0 && hi[b] > 0.0 ? std::log(hi[b] / nominal[b])
                                                     : 0.0;
                dm = nominal[b] > 0.0 && lo[b] > 0.0 ? std::log(lo[b] / nominal[b])
                                                     : 0.0;
            } else {
                dp = hi[b] - nominal[b];
                dm = lo[b] - nominal[b];
            }
            sum[b] = dp + dm;
            diff[b] = dp - dm;
        }
        cd.deltas.insert(cd.deltas.end(), sum.begin(), sum.end());
        cd.deltas.insert(cd.deltas.end(), diff.begin(), diff.end());
        cd.morphs.push_back(mo);
    }
    pr.q = q;
    pr.n0 = n0;
    info.init_norm *= n0;
    pr.sum0 = sum0;
    pr.template_offset = static_cast<std::uint32_t>(cd.templates.size());
    for (double v : nominal)
        cd.templates.push_back(pr.log_morph ? (v > 0.0 ? std::log(v) : -999.0) : v);
    pr.factor_end = static_cast<std::uint32_t>(cd.factors.size());
    pr.morph_end = static_cast<std::uint32_t>(cd.morphs.size());
    pr.norm_pars = std::move(norm_pars);
    pr.shape_pars = std::move(shape_pars);
    const std::size_t np = pr.norm_pars.size(), ns = pr.shape_pars.size();
    pr.gn_offset = static_cast<std::uint32_t>(cd.gn_size);
    pr.hn_offset = static_cast<std::uint32_t>(cd.hn_size);
    pr.gt_offset = static_cast<std::uint32_t>(cd.gt_size);
    pr.ht_offset = static_cast<std::uint32_t>(cd.ht_size);
    cd.gn_size += np;
    cd.hn_size += np * np;
    cd.gt_size += ch.nbins * ns;
    cd.ht_size += ch.nbins * (pr.log_morph ? ns * ns : ns);
    cd.ncells += ch.nbins;
    for (std::size_t b = 0; b < ch.nbins; ++b) {
        CellName cell;
        cell.bin = static_cast<std::uint32_t>(ch.offset + b);
        auto it = std::find(md_->samples.begin(), md_->samples.end(), col.process);
        cell.sample = static_cast<std::uint32_t>(it - md_->samples.begin());
        if (it == md_->samples.end()) md_->samples.push_back(col.process);
        md_->cells.push_back(cell);
    }
    info.nominal = std::move(nominal);
    cd.processes.push_back(std::move(pr));
    info_.push_back(std::move(info));
}

// autoMCStats (Barlow-Beeston lite), decided once at the initial parameter values.
void Builder::add_stat_terms() {
    CombineTerms& cd = *cd_;
    for (std::size_t c = 0; c < channels_.size(); ++c) {
        const ChannelInfo& ch = channels_[c];
        if (!ch.stats) continue;
        std::vector<std::size_t> procs;
        for (std::size_t p = 0; p < info_.size(); ++p)
            if (info_[p].channel == c) procs.push_back(p);
        const std::string prefix = "prop_bin" + card_.bins[c] + "_bin";
        for (std::size_t b = 0; b < ch.nbins; ++b) {
            double sub_sum = 0.0, sub_err2 = 0.0, tot_err2 = 0.0;
            for (std::size_t p : procs) {
                const ProcessInfo& in = info_[p];
                const double e = in.init_norm * in.errors[b];
                tot_err2 += e * e;
                if (in.signal && !ch.stats->include_signal) continue;
                sub_sum += in.init_norm * in.nominal[b];
                sub_err2 += e * e;
            }
            if (sub_err2 <= 0.0) continue;
            auto add_term = [&](const std::string& name,
                                const std::vector<std::size_t>& ps) {
                Param par{
                    name, 0.0, -7.0, 7.0, Constraint::normal, ModifierType::staterror};
                CombineStatTerm st;
                st.par = static_cast<std::uint32_t>(add_param(par));
                st.bin = static_cast<std::uint32_t>(ch.offset + b);
                st.begin = static_cast<std::uint32_t>(cd.stat_entries.size());
                for (std::size_t p : ps)
                    if (info_[p].errors[b] > 0.0)
                        cd.stat_entries.push_back(
                            {static_cast<std::uint32_t>(p),
                             info_[p].errors[b] * info_[p].errors[b]});
                st.end = static_cast<std::uint32_t>(cd.stat_entries.size());
                if (!cd.stat_terms.empty() && cd.stat_terms.back().bin == st.bin)
                    cd.stat_terms.back().single = st.single = false;
                cd.stat_terms.push_back(st);
            };
            const double n_eff = std::floor(0.5 + sub_sum * sub_sum / sub_err2);
            if (n_eff > ch.stats->threshold) {
                if (tot_err2 > 0.0) add_term(prefix + std::to_string(b), procs);
                continue;
            }
            for (std::size_t p : procs) {
                const ProcessInfo& in = info_[p];
                const double e = in.errors[b], v = in.nominal[b];
                if (e <= 0.0 || v < 0.0) continue;
                if (v >= 0.999 * e &&
                    std::floor(0.5 + v * v / (e * e)) <= ch.stats->threshold)
                    notes_.push_back(
                        prefix + std::to_string(b) + "_" + in.name +
                        ": Poisson per-process term approximated by a Gaussian");
                add_term(prefix + std::to_string(b) + "_" + in.name, {p});
            }
        }
    }
}

void Builder::finish() {
    ModelData& md = *md_;
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Param& p = params_[i];
        md.par_names.push_back(p.name);
        md.init.push_back(p.init);
        md.bounds.emplace_back(p.lo, p.hi);
        md.fixed.push_back(p.fixed);
        ParamSetInfo info{p.name, i, 1, p.constraint, {p.type}};
        md.paramsets.push_back(info);
        const auto aux = static_cast<std::uint32_t>(md.auxdata.size());
        if (p.constraint == Constraint::normal) {
            md.gaussian.push_back({static_cast<std::uint32_t>(i), aux, p.sigma});
            md.auxdata.push_back(p.aux);
        } else if (p.constraint == Constraint::poisson) {
            md.poisson.push_back({static_cast<std::uint32_t>(i), aux, p.tau});
            md.auxdata.push_back(p.aux);
        }
    }
    md.poi_index = pois_.front();
    md.poi_name = params_[pois_.front()].name;
    md.measurement_name = "combine";
    md.main = cd_;
}

CombineModel Builder::build() {
    if (card_.bins.empty()) throw InvalidModel(card_.source + ": the card has no bins");
    setup_channels();
    setup_parameters();
    for (std::size_t c = 0; c < card_.columns.size(); ++c)
        if (card_.columns[c].rate != 0.0 || has_empty_gmn(c))
            add_process(card_.columns[c], c);
    add_stat_terms();
    finish();

    CombineModel out{Model::from_compiled(md_), {}, std::move(notes_)};
    // Observed data per channel, then the auxiliary data.
    std::vector<double>& data = out.data;
    for (std::size_t c = 0; c < channels_.size(); ++c) {
        const std::string& bin = card_.bins[c];
        if (channels_[c].shapes) {
            const Histogram* h = find(bin, "data_obs", "");
            if (!h)
                throw InvalidModel(card_.source + ": bin " + bin +
                                   ": no data_obs template");
            if (h->contents.size() != channels_[c].nbins)
                throw InvalidModel(card_.source + ": bin " + bin + ": data_obs has " +
                                   std::to_string(h->contents.size()) +
                                   " bins, expected " +
                                   std::to_string(channels_[c].nbins));
            for (std::size_t b = 0; b < h->contents.size(); ++b)
                if (h->contents[b] < 0.0)
                    throw InvalidModel(card_.source + ": bin " + bin +
                                       ": data_obs histogram bin " +
                                       std::to_string(b + 1) + " is " +
                                       std::to_string(h->contents[b]) +
                                       ", expected an observed count >= 0");
            data.insert(data.end(), h->contents.begin(), h->contents.end());
        } else {
            if (c >= card_.observation.size() || card_.observation[c] < 0.0)
                throw InvalidModel(card_.source + ": bin " + bin +
                                   ": counting bins need an observation");
            data.push_back(card_.observation[c]);
        }
    }
    data.insert(data.end(), md_->auxdata.begin(), md_->auxdata.end());
    return out;
}

} // namespace

CombineModel build_model(const Datacard& card, const Templates& templates,
                         const CombineOptions& options) {
    return Builder(card, templates, options).build();
}

} // namespace hifit::datacard
