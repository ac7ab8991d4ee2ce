// Model::compile: pyhf's model construction rules (src/pyhf/pdf.py, mixins.py,
// modifiers/*.py) turned into flat arrays for the likelihood.
#include <hifit/errors.hpp>
#include <hifit/histfactory/interpolation.hpp>
#include <hifit/likelihood/model.hpp>

#include "histfactory/main_terms.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace hifit {

namespace {

constexpr std::size_t n_types = 7;

bool is_scalar(ModifierType t) {
    return t == ModifierType::normfactor || t == ModifierType::lumi ||
           t == ModifierType::normsys || t == ModifierType::histosys;
}

// A parameter set before measurement overrides.
struct ParamSet {
    std::string name;
    std::set<ModifierType> types;
    std::size_t size = 1;
    bool scalar = true;
    Constraint constraint = Constraint::none;
    std::vector<double> inits, auxdata, sigmas, factors;
    std::vector<std::pair<double, double>> bounds;
    std::vector<bool> fixed;
    // staterror / shapefactor: the channels (sorted indices) whose bins it covers
    std::vector<std::size_t> channels;
};

struct SortedSpec {
    std::vector<const Channel*> channels;              // sorted by name
    std::vector<std::string> samples;                  // sorted union
    std::vector<std::vector<const Sample*>> sample_in; // [channel][sample] or null
    std::vector<std::size_t> nbins;
    // The modifiers of each (channel, sample) sorted by (name, type), as pyhf iterates
    // them, in one flat list: those of (ci, si) are [mod_begin[k], mod_begin[k + 1])
    // with k = ci * samples.size() + si.
    std::vector<const Modifier*> mod_list;
    std::vector<std::size_t> mod_begin;
    std::vector<std::uint32_t> mod_name; // of each entry of mod_list: its name's rank
    // The parameter set of each entry of mod_list (names interned once, so the
    // compile compares integers, not strings); filled by collect_paramsets.
    std::vector<std::uint32_t> mod_set;
    std::span<const Modifier* const> mods(std::size_t ci, std::size_t si) const {
        const std::size_t k = ci * samples.size() + si;
        return {mod_list.data() + mod_begin[k], mod_list.data() + mod_begin[k + 1]};
    }
    std::span<const std::uint32_t> sets_of(std::size_t ci, std::size_t si) const {
        const std::size_t k = ci * samples.size() + si;
        return {mod_set.data() + mod_begin[k], mod_set.data() + mod_begin[k + 1]};
    }
};

std::string where(const Channel& c, const Sample* s = nullptr,
                  const Modifier* m = nullptr) {
    std::string out = "channel \"" + c.name + "\"";
    if (s) out += ", sample \"" + s->name + "\"";
    if (m) out += ", modifier \"" + m->name + "\" (" + to_string(m->type) + ")";
    return out;
}

std::string number_text(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

// Values that leave the likelihood undefined at every point are input errors, not
// failed fits. What pyhf evaluates to a finite likelihood stays accepted: negative
// sample yields, negative or zero staterror widths, any shapesys width (pyhf masks
// the bins it cannot use).
void check_values(const Channel& c, const Sample& s) {
    auto finite = [&](const std::vector<double>& v, const Modifier* m,
                      const char* what) {
        for (std::size_t b = 0; b < v.size(); ++b)
            if (!std::isfinite(v[b]))
                throw InvalidModel(where(c, &s, m) + ": " + what + "[" +
                                   std::to_string(b) + "] is " + number_text(v[b]) +
                                   ", expected a finite number");
    };
    finite(s.data, nullptr, "data");
    for (const auto& m : s.modifiers) {
        if (m.type == ModifierType::normsys) {
            for (auto [key, v] : {std::pair{"hi", m.hi}, std::pair{"lo", m.lo}})
                if (!(v > 0.0) || !std::isfinite(v))
                    throw InvalidModel(where(c, &s, &m) + ": " + key + " is " +
                                       number_text(v) +
                                       ", expected a finite factor > 0 (the "
                                       "interpolation takes its logarithm)");
        } else if (m.type == ModifierType::histosys) {
            finite(m.hi_data, &m, "hi_data");
            finite(m.lo_data, &m, "lo_data");
        } else if (m.type == ModifierType::staterror) {
            finite(m.data, &m, "data");
        }
    }
}

SortedSpec sort_and_check(const WorkspaceSpec& spec) {
    SortedSpec out;
    std::set<std::string> channel_names, sample_names;
    for (const auto& c : spec.channels) {
        if (!channel_names.insert(c.name).second) {
            throw InvalidModel("duplicate channel name \"" + c.name + "\"");
        }
        std::set<std::string> in_channel;
        const std::size_t nb = c.samples.front().data.size();
        for (const auto& s : c.samples) {
            if (!in_channel.insert(s.name).second) {
                throw InvalidModel(where(c) + ": duplicate sample name \"" + s.name +
                                   "\"");
            }
            sample_names.insert(s.name);
            auto check_len = [&](const std::vector<double>& v, const Modifier* m,
                                 const char* what) {
                if (v.size() != nb) {
                    throw InvalidModel(where(c, &s, m) + ": " + what + " has " +
                                       std::to_string(v.size()) +
                                       " bins, the channel has " + std::to_string(nb));
                }
            };
            check_len(s.data, nullptr, "data");
            check_values(c, s);
            for (const auto& m : s.modifiers) {
                if (m.type == ModifierType::histosys) {
                    check_len(m.hi_data, &m, "hi_data");
                    check_len(m.lo_data, &m, "lo_data");
                }
                if (m.type == ModifierType::shapesys ||
                    m.type == ModifierType::staterror) {
                    check_len(m.data, &m, "data");
                }
            }
        }
    }
    for (const auto& c : spec.channels) out.channels.push_back(&c);
    std::sort(out.channels.begin(), out.channels.end(),
              [](const Channel* a, const Channel* b) { return a->name < b->name; });
    out.samples.assign(sample_names.begin(), sample_names.end());
    out.mod_begin.reserve(out.channels.size() * out.samples.size() + 1);
    for (const Channel* c : out.channels) {
        std::vector<const Sample*> row(out.samples.size(), nullptr);
        for (const auto& s : c->samples) {
            const auto it =
                std::lower_bound(out.samples.begin(), out.samples.end(), s.name);
            row[static_cast<std::size_t>(it - out.samples.begin())] = &s;
        }
        for (const Sample* s : row) {
            out.mod_begin.push_back(out.mod_list.size());
            if (s)
                for (const auto& m : s->modifiers) out.mod_list.push_back(&m);
        }
        out.sample_in.push_back(std::move(row));
        out.nbins.push_back(c->samples.front().data.size());
    }
    out.mod_begin.push_back(out.mod_list.size());
    // Names interned once, numbered in name order, so that sorting the modifiers of
    // every sample compares integers instead of strings.
    {
        std::unordered_map<std::string_view, std::uint32_t> id_of;
        std::vector<std::string_view> unique;
        out.mod_name.resize(out.mod_list.size());
        for (std::size_t k = 0; k < out.mod_list.size(); ++k) {
            const auto [it, inserted] = id_of.try_emplace(
                out.mod_list[k]->name, static_cast<std::uint32_t>(unique.size()));
            if (inserted) unique.push_back(out.mod_list[k]->name);
            out.mod_name[k] = it->second;
        }
        std::vector<std::uint32_t> by_name(unique.size()), rank(unique.size());
        for (std::size_t i = 0; i < by_name.size(); ++i)
            by_name[i] = static_cast<std::uint32_t>(i);
        std::sort(
            by_name.begin(), by_name.end(),
            [&](std::uint32_t a, std::uint32_t b) { return unique[a] < unique[b]; });
        for (std::size_t r = 0; r < by_name.size(); ++r)
            rank[by_name[r]] = static_cast<std::uint32_t>(r);
        for (auto& id : out.mod_name) id = rank[id];
    }
    struct Key {
        std::uint32_t name;
        ModifierType type;
        const Modifier* m;
    };
    std::vector<Key> keys;
    for (std::size_t ci = 0; ci < out.channels.size(); ++ci) {
        for (std::size_t si = 0; si < out.samples.size(); ++si) {
            const std::size_t begin = out.mod_begin[ci * out.samples.size() + si];
            const std::size_t end = out.mod_begin[ci * out.samples.size() + si + 1];
            keys.clear();
            for (std::size_t k = begin; k < end; ++k)
                keys.push_back(
                    {out.mod_name[k], out.mod_list[k]->type, out.mod_list[k]});
            std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
                return std::tie(a.name, a.type) < std::tie(b.name, b.type);
            });
            for (std::size_t j = 0; j < keys.size(); ++j) {
                // sorted: a repeated (name, type) sits next to its twin
                if (j > 0 && keys[j].name == keys[j - 1].name &&
                    keys[j].type == keys[j - 1].type) {
                    throw InvalidModel(
                        where(*out.channels[ci], out.sample_in[ci][si], keys[j].m) +
                        ": the same modifier appears twice");
                }
                out.mod_name[begin + j] = keys[j].name;
                out.mod_list[begin + j] = keys[j].m;
            }
        }
    }
    return out;
}

void fill_defaults(ParamSet& p, ModifierType type) {
    const std::size_t n = p.size;
    switch (type) {
    case ModifierType::normfactor:
    case ModifierType::shapefactor:
        p.constraint = Constraint::none;
        p.inits.assign(n, 1.0);
        p.bounds.assign(n, {0.0, 10.0});
        p.fixed.assign(n, false);
        break;
    case ModifierType::normsys:
    case ModifierType::histosys:
        p.constraint = Constraint::normal;
        p.inits.assign(n, 0.0);
        p.bounds.assign(n, {-5.0, 5.0});
        p.fixed.assign(n, false);
        p.auxdata.assign(n, 0.0);
        p.sigmas.assign(n, 1.0);
        break;
    case ModifierType::lumi:
        p.constraint = Constraint::normal; // values must come from the measurement
        p.fixed.assign(n, false);
        break;
    case ModifierType::shapesys:
        p.constraint = Constraint::poisson;
        p.inits.assign(n, 1.0);
        p.bounds.assign(n, {1e-10, 10.0});
        break;
    case ModifierType::staterror:
        p.constraint = Constraint::normal;
        p.inits.assign(n, 1.0);
        p.bounds.assign(n, {1e-10, 10.0});
        p.auxdata.assign(n, 1.0);
        break;
    }
}

// Registers every parameter set in pyhf's order: grouped by modifier type in
// histfactory_set order, first appearance within a type (sorted channels, samples,
// modifiers), except staterror which pyhf registers sorted by name.
// Also fills ss.mod_set, the set of each modifier.
std::vector<ParamSet> collect_paramsets(SortedSpec& ss) {
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    const std::vector<std::uint32_t>& name_id = ss.mod_name;
    std::uint32_t nnames = 0;
    for (std::uint32_t id : name_id) nnames = std::max(nnames, id + 1);
    std::vector<ParamSet> sets;
    std::vector<std::uint32_t> set_of_name(nnames, none);
    std::vector<std::uint32_t> name_of_set;
    for (std::size_t t = 0; t < n_types; ++t) {
        const auto type = static_cast<ModifierType>(t);
        for (std::size_t ci = 0; ci < ss.channels.size(); ++ci) {
            for (std::size_t si = 0; si < ss.samples.size(); ++si) {
                const std::size_t k0 = ss.mod_begin[ci * ss.samples.size() + si];
                const std::size_t k1 = ss.mod_begin[ci * ss.samples.size() + si + 1];
                for (std::size_t k = k0; k < k1; ++k) {
                    const Modifier* m = ss.mod_list[k];
                    if (m->type != type) continue;
                    std::uint32_t& index = set_of_name[name_id[k]];
                    if (index == none) {
                        index = static_cast<std::uint32_t>(sets.size());
                        ParamSet p;
                        p.name = m->name;
                        p.scalar = is_scalar(type);
                        sets.push_back(std::move(p));
                        name_of_set.push_back(name_id[k]);
                    }
                    ParamSet& p = sets[index];
                    p.types.insert(type);
                    if (std::find(p.channels.begin(), p.channels.end(), ci) ==
                        p.channels.end()) {
                        p.channels.push_back(ci);
                    }
                }
            }
        }
    }
    // staterror comes last in histfactory_set; pyhf registers those sets sorted by
    // name.
    std::vector<std::uint32_t> order(sets.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = static_cast<std::uint32_t>(i);
    const auto first_stat =
        std::find_if(order.begin(), order.end(), [&](std::uint32_t i) {
            return sets[i].types.count(ModifierType::staterror) > 0;
        });
    std::sort(first_stat, order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return sets[a].name < sets[b].name;
    });
    std::vector<ParamSet> sorted;
    sorted.reserve(sets.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        set_of_name[name_of_set[order[i]]] = static_cast<std::uint32_t>(i);
        sorted.push_back(std::move(sets[order[i]]));
    }
    ss.mod_set.resize(ss.mod_list.size());
    for (std::size_t k = 0; k < ss.mod_list.size(); ++k)
        ss.mod_set[k] = set_of_name[name_id[k]];
    return sorted;
}

void check_name_reuse(const ParamSet& p) {
    if (p.types.size() == 1) return;
    const std::set<ModifierType> allowed{ModifierType::normsys, ModifierType::histosys};
    if (p.types != allowed) {
        std::string types;
        for (auto t : p.types)
            types += (types.empty() ? "" : ", ") + std::string(to_string(t));
        throw InvalidModel("modifier name \"" + p.name +
                           "\" is used by incompatible types (" + types +
                           "); only normsys and histosys may share a name");
    }
}

// Sizes, defaults and the data-derived constraint widths of each parameter set.
void size_paramsets(std::vector<ParamSet>& sets, const SortedSpec& ss) {
    for (ParamSet& p : sets) {
        check_name_reuse(p);
        const ModifierType type = *p.types.begin();
        if (type == ModifierType::shapefactor) {
            p.size = ss.nbins[p.channels.front()];
            for (std::size_t ci : p.channels) {
                if (ss.nbins[ci] != p.size) {
                    throw InvalidModel("shapefactor \"" + p.name +
                                       "\" is shared by channels with "
                                       "different numbers of bins (\"" +
                                       ss.channels[p.channels.front()]->name +
                                       "\": " + std::to_string(p.size) + ", \"" +
                                       ss.channels[ci]->name +
                                       "\": " + std::to_string(ss.nbins[ci]) + ")");
                }
            }
        } else if (type == ModifierType::shapesys) {
            if (p.channels.size() != 1) {
                throw InvalidModel(
                    "shapesys \"" + p.name +
                    "\" appears in several channels; shapesys cannot be shared");
            }
            p.size = ss.nbins[p.channels.front()];
        } else if (type == ModifierType::staterror) {
            p.size = 0;
            for (std::size_t ci : p.channels) p.size += ss.nbins[ci];
        }
        fill_defaults(p, type);
    }
}

const Modifier* find_modifier(const Sample& s, const std::string& name,
                              ModifierType type) {
    for (const auto& m : s.modifiers) {
        if (m.name == name && m.type == type) return &m;
    }
    return nullptr;
}

void shapesys_widths(ParamSet& p, const SortedSpec& ss) {
    const std::size_t ci = p.channels.front();
    const Sample* owner = nullptr;
    for (const Sample* s : ss.sample_in[ci]) {
        if (s && find_modifier(*s, p.name, ModifierType::shapesys)) {
            if (owner) {
                throw InvalidModel(where(*ss.channels[ci], s) + ": shapesys \"" +
                                   p.name + "\" is already used by sample \"" +
                                   owner->name + "\"; shapesys cannot be shared");
            }
            owner = s;
        }
    }
    const Modifier* m = find_modifier(*owner, p.name, ModifierType::shapesys);
    p.factors.resize(p.size);
    p.fixed.resize(p.size);
    for (std::size_t b = 0; b < p.size; ++b) {
        const double nom = owner->data[b], sigma = m->data[b];
        const bool valid = nom > 0 && sigma > 0;
        p.factors[b] = valid ? (nom / sigma) * (nom / sigma) : 1.0;
        p.fixed[b] = !valid;
    }
    p.auxdata = p.factors;
}

void staterror_widths(ParamSet& p, std::uint32_t set, const SortedSpec& ss) {
    p.sigmas.clear();
    p.fixed.clear();
    // the (sample, modifier) pairs of this set in one channel, in sample order
    std::vector<std::pair<const Sample*, const Modifier*>> members;
    for (std::size_t ci : p.channels) {
        members.clear();
        for (std::size_t si = 0; si < ss.samples.size(); ++si) {
            const auto mods = ss.mods(ci, si);
            const auto mod_sets = ss.sets_of(ci, si);
            for (std::size_t k = 0; k < mods.size(); ++k) {
                if (mod_sets[k] == set && mods[k]->type == ModifierType::staterror) {
                    members.emplace_back(ss.sample_in[ci][si], mods[k]);
                }
            }
        }
        for (std::size_t b = 0; b < ss.nbins[ci]; ++b) {
            double nominal = 0.0;
            for (const auto& [s, m] : members) nominal += s->data[b];
            // pyhf: sqrt(sum (delta/nomsall)^2) if nomsall > 0 else 0.
            double rel = 0.0;
            if (nominal > 0) {
                double sum = 0.0;
                for (const auto& [s, m] : members)
                    sum += (m->data[b] / nominal) * (m->data[b] / nominal);
                rel = std::sqrt(sum);
            }
            p.fixed.push_back(rel == 0.0);
            p.sigmas.push_back(rel == 0.0 ? 1.0 : rel);
        }
    }
}

template <class T>
void override_list(std::vector<T>& target, const std::optional<std::vector<T>>& given,
                   const ParamSet& p, const char* key, bool allowed) {
    if (!given) return;
    if (!allowed) {
        throw InvalidModel("measurement parameter \"" + p.name + "\": \"" + key +
                           "\" does not apply to a " + to_string(p.constraint) +
                           " parameter");
    }
    if (given->size() != p.size) {
        throw InvalidModel("measurement parameter \"" + p.name + "\": \"" + key +
                           "\" has " + std::to_string(given->size()) +
                           " value(s), the parameter has " + std::to_string(p.size));
    }
    target = *given;
}

// A Gaussian width or Poisson factor <= 0 and any non-finite configured number leave
// the constraint term undefined (pyhf's likelihood is NaN or -inf there).
void check_configured(const ParamSet& p, const Measurement& meas,
                      const ParameterConfig& cfg) {
    auto fail = [&](const char* key, std::size_t i, double v, const char* expected) {
        throw InvalidModel("measurement \"" + meas.name + "\": parameter \"" + p.name +
                           "\": " + key + "[" + std::to_string(i) + "] is " +
                           number_text(v) + ", expected " + expected);
    };
    auto each = [&](const auto& given, const char* key, bool positive) {
        if (!given) return;
        for (std::size_t i = 0; i < given->size(); ++i) {
            const double v = (*given)[i];
            if (!std::isfinite(v)) fail(key, i, v, "a finite number");
            if (positive && !(v > 0.0)) fail(key, i, v, "a number > 0");
        }
    };
    each(cfg.sigmas, "sigmas", true);
    each(cfg.factors, "factors", true);
    each(cfg.auxdata, "auxdata", false);
    each(cfg.inits, "inits", false);
    if (cfg.bounds)
        for (std::size_t i = 0; i < cfg.bounds->size(); ++i) {
            const auto [lo, hi] = (*cfg.bounds)[i];
            if (std::isnan(lo) || std::isnan(hi) || !(lo <= hi))
                throw InvalidModel("measurement \"" + meas.name + "\": parameter \"" +
                                   p.name + "\": bounds[" + std::to_string(i) +
                                   "] is [" + number_text(lo) + ", " + number_text(hi) +
                                   "], expected lo <= hi");
        }
}

void apply_measurement(std::vector<ParamSet>& sets, const Measurement& meas) {
    std::unordered_map<std::string_view, std::size_t> set_named;
    for (std::size_t i = 0; i < sets.size(); ++i) set_named.emplace(sets[i].name, i);
    std::unordered_set<std::string_view> seen;
    for (const auto& cfg : meas.parameters) {
        if (!seen.insert(cfg.name).second) {
            throw InvalidModel("measurement \"" + meas.name + "\": parameter \"" +
                               cfg.name + "\" is configured twice");
        }
        const auto it = set_named.find(cfg.name);
        if (it == set_named.end()) continue; // pyhf ignores parameters no modifier uses
        ParamSet& p = sets[it->second];
        override_list(p.inits, cfg.inits, p, "inits", true);
        override_list(p.bounds, cfg.bounds, p, "bounds", true);
        override_list(p.auxdata, cfg.auxdata, p, "auxdata",
                      p.constraint != Constraint::none);
        override_list(p.sigmas, cfg.sigmas, p, "sigmas",
                      p.constraint == Constraint::normal);
        override_list(p.factors, cfg.factors, p, "factors",
                      p.constraint == Constraint::poisson);
        check_configured(p, meas, cfg);
        if (cfg.fixed) p.fixed.assign(p.size, *cfg.fixed);
    }
    for (const ParamSet& p : sets) {
        if (p.types.count(ModifierType::lumi) &&
            (p.inits.empty() || p.bounds.empty() || p.auxdata.empty() ||
             p.sigmas.empty())) {
            throw InvalidModel(
                "measurement \"" + meas.name +
                "\": the lumi parameter needs \"inits\", \"bounds\", \"auxdata\" "
                "and \"sigmas\" in its parameter configuration");
        }
    }
}

// A multiplicative modifier of one sample: a shared slot (normsys), or a linear
// factor on parameter first_par (+ bin for per-bin parameters).
struct Factor {
    std::uint32_t slot = 0;
    std::size_t first_par = 0;
    bool shared = false, per_bin = false;
};

// Builds the evaluation arrays: one cell per (channel, sample, bin).
void build_cells(ModelData& md, HistFactoryTerms& hf, const SortedSpec& ss,
                 const std::vector<ParamSet>& sets,
                 const std::vector<std::size_t>& offset_of_set,
                 const ModelOptions& options) {
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> linear_slot(md.par_names.size(), none);
    auto linear = [&](std::size_t par) {
        std::uint32_t& slot_index = linear_slot[par];
        if (slot_index == none) {
            slot_index = static_cast<std::uint32_t>(hf.slots.size());
            FactorSlot slot;
            slot.par = static_cast<std::uint32_t>(par);
            hf.slots.push_back(slot);
        }
        return slot_index;
    };
    std::size_t ncells = 0;
    for (std::size_t ci = 0; ci < ss.channels.size(); ++ci)
        for (const Sample* s : ss.sample_in[ci]) ncells += s ? ss.nbins[ci] : 0;
    hf.cells.reserve(ncells);
    md.cells.reserve(ncells);
    std::vector<Factor> factors;
    std::vector<const Modifier*> histosys;
    std::vector<std::uint32_t> histosys_par; // looked up once, not per bin
    for (std::size_t ci = 0; ci < ss.channels.size(); ++ci) {
        for (std::size_t si = 0; si < ss.samples.size(); ++si) {
            const Sample* s = ss.sample_in[ci][si];
            if (!s) continue;
            factors.clear();
            histosys.clear();
            histosys_par.clear();
            const auto mods = ss.mods(ci, si);
            const auto mod_sets = ss.sets_of(ci, si);
            for (std::size_t k = 0; k < mods.size(); ++k) {
                const Modifier* m = mods[k];
                const std::size_t off = offset_of_set[mod_sets[k]];
                Factor f;
                f.first_par = off;
                switch (m->type) {
                case ModifierType::histosys:
                    histosys.push_back(m);
                    histosys_par.push_back(static_cast<std::uint32_t>(off));
                    continue;
                case ModifierType::normsys: {
                    FactorSlot slot;
                    slot.par = static_cast<std::uint32_t>(off);
                    slot.ln_hi = std::log(m->hi);
                    slot.ln_lo = std::log(m->lo);
                    if (options.normsys == NormsysCode::code1) {
                        slot.kind = FactorSlot::exp_code1;
                    } else {
                        slot.kind = FactorSlot::poly_code4;
                        interp::code4_coefficients(m->hi, m->lo, slot.poly);
                    }
                    f.slot = static_cast<std::uint32_t>(hf.slots.size());
                    f.shared = true;
                    hf.slots.push_back(slot);
                    break;
                }
                case ModifierType::shapefactor:
                case ModifierType::shapesys:
                    f.per_bin = true;
                    break;
                case ModifierType::staterror: {
                    // this channel's bins follow those of earlier channels of the set
                    f.per_bin = true;
                    const ParamSet& set = sets[mod_sets[k]];
                    for (std::size_t cj : set.channels) {
                        if (cj == ci) break;
                        f.first_par += ss.nbins[cj];
                    }
                    break;
                }
                default:
                    break; // normfactor, lumi: one scalar parameter
                }
                factors.push_back(f);
            }
            for (std::size_t b = 0; b < ss.nbins[ci]; ++b) {
                HistFactoryCell cell;
                cell.bin = static_cast<std::uint32_t>(md.channel_offset[ci] + b);
                cell.nominal = s->data[b];
                cell.factor_begin = static_cast<std::uint32_t>(hf.cell_factors.size());
                for (const Factor& f : factors) {
                    hf.cell_factors.push_back(
                        f.shared ? f.slot : linear(f.first_par + (f.per_bin ? b : 0)));
                }
                cell.factor_end = static_cast<std::uint32_t>(hf.cell_factors.size());
                // Sorted by parameter: the Hessian adds each parameter pair once. The
                // factors of a cell never share a parameter (one set per name, and only
                // the additive histosys may share a normsys name).
                std::sort(hf.cell_factors.begin() + cell.factor_begin,
                          hf.cell_factors.end(), [&](std::uint32_t x, std::uint32_t y) {
                              return hf.slots[x].par < hf.slots[y].par;
                          });
                for (std::uint32_t f = cell.factor_begin; f < cell.factor_end; ++f) {
                    const std::uint32_t par = hf.slots[hf.cell_factors[f]].par;
                    if (f > cell.factor_begin && hf.cell_factor_par.back() == par) {
                        throw InvalidModel(
                            "internal: two factors of one cell share parameter " +
                            md.par_names[par]);
                    }
                    hf.cell_factor_par.push_back(par);
                }
                cell.add_begin = static_cast<std::uint32_t>(hf.additive.size());
                const auto pars_begin = hf.cell_factor_par.begin() + cell.factor_begin;
                for (std::size_t k = 0; k < histosys.size(); ++k) {
                    const Modifier* m = histosys[k];
                    AdditiveTerm term;
                    term.par = histosys_par[k];
                    term.code = options.histosys;
                    term.up = m->hi_data[b] - s->data[b];
                    term.down = s->data[b] - m->lo_data[b];
                    // the cell's factor parameters are sorted
                    const auto shared = std::lower_bound(
                        pars_begin, hf.cell_factor_par.end(), term.par);
                    if (shared != hf.cell_factor_par.end() && *shared == term.par) {
                        term.shared_factor =
                            static_cast<std::int32_t>(shared - pars_begin);
                    }
                    hf.additive.push_back(term);
                }
                cell.add_end = static_cast<std::uint32_t>(hf.additive.size());
                hf.cells.push_back(cell);
                md.cells.push_back({cell.bin, static_cast<std::uint32_t>(si)});
            }
        }
    }
}

} // namespace

Model Model::compile(const WorkspaceSpec& spec, const ModelOptions& options) {
    const Measurement* meas = nullptr;
    for (const auto& m : spec.measurements) {
        if (options.measurement.empty() || m.name == options.measurement) {
            meas = &m;
            break;
        }
    }
    if (!meas) {
        throw InvalidModel("no measurement named \"" + options.measurement + "\"");
    }
    SortedSpec ss = sort_and_check(spec);
    std::vector<ParamSet> sets = collect_paramsets(ss);
    size_paramsets(sets, ss);
    for (std::size_t i = 0; i < sets.size(); ++i) {
        ParamSet& p = sets[i];
        const ModifierType type = *p.types.begin();
        if (type == ModifierType::shapesys) shapesys_widths(p, ss);
        if (type == ModifierType::staterror)
            staterror_widths(p, static_cast<std::uint32_t>(i), ss);
    }
    apply_measurement(sets, *meas);

    auto md = std::make_shared<ModelData>();
    md->measurement_name = meas->name;
    std::size_t offset = 0;
    for (std::size_t ci = 0; ci < ss.channels.size(); ++ci) {
        md->channels.push_back(ss.channels[ci]->name);
        md->channel_nbins.push_back(ss.nbins[ci]);
        md->channel_offset.push_back(offset);
        offset += ss.nbins[ci];
    }
    md->nmain = offset;
    md->samples = ss.samples;

    std::vector<std::size_t> offset_of_set;
    offset_of_set.reserve(sets.size());
    std::size_t npars = 0;
    for (const ParamSet& p : sets) {
        offset_of_set.push_back(npars);
        ParamSetInfo info{p.name, npars, p.size, p.constraint,
                          std::vector<ModifierType>(p.types.begin(), p.types.end())};
        md->paramsets.push_back(info);
        for (std::size_t i = 0; i < p.size; ++i) {
            md->par_names.push_back(p.scalar ? p.name
                                             : p.name + "[" + std::to_string(i) + "]");
            md->init.push_back(p.inits[i]);
            md->bounds.push_back(p.bounds[i]);
            md->fixed.push_back(p.fixed[i]);
        }
        npars += p.size;
    }
    for (std::size_t si = 0; si < sets.size(); ++si) {
        const ParamSet& p = sets[si];
        const std::size_t off = offset_of_set[si];
        for (std::size_t i = 0; i < p.size && p.constraint != Constraint::none; ++i) {
            const auto aux = static_cast<std::uint32_t>(md->auxdata.size());
            md->auxdata.push_back(p.auxdata[i]);
            const auto par = static_cast<std::uint32_t>(off + i);
            if (p.constraint == Constraint::normal) {
                md->gaussian.push_back({par, aux, p.sigmas[i]});
            } else {
                md->poisson.push_back({par, aux, p.factors[i]});
            }
        }
    }

    const std::string poi = options.poi_name ? *options.poi_name : meas->poi;
    if (!poi.empty()) {
        const auto it = std::find_if(sets.begin(), sets.end(),
                                     [&](const ParamSet& p) { return p.name == poi; });
        if (it == sets.end()) {
            throw InvalidModel("the parameter of interest \"" + poi +
                               "\" is not declared by any modifier of the model");
        }
        // pyhf accepts any one-component parameter set (even a 1-bin shapesys).
        const ParamSet& poi_set = *it;
        if (poi_set.size != 1) {
            throw InvalidModel("the parameter of interest \"" + poi + "\" has " +
                               std::to_string(poi_set.size) +
                               " components; it must have one");
        }
        md->poi_index = offset_of_set[static_cast<std::size_t>(it - sets.begin())];
        md->poi_name = poi;
    }
    auto hf = std::make_shared<HistFactoryTerms>();
    build_cells(*md, *hf, ss, sets, offset_of_set, options);
    md->main = std::move(hf);
    return Model(std::move(md));
}

} // namespace hifit
