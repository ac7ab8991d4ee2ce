// combineCards.py: labelled cards merged into one (bins renamed, processes renumbered,
// same-named nuisances correlated).
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace hifit::datacard {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& token) {
    throw InvalidSpec("combine_cards: " + what + ", found '" + token + "'");
}

// fnmatch-style glob with '*', '?' and '[...]' (Combine's rateParam/autoMCStats).
bool glob_match(std::string_view pat, std::string_view s) {
    if (pat.empty()) return s.empty();
    if (pat[0] == '*') {
        while (pat.size() > 1 && pat[1] == '*') pat.remove_prefix(1);
        for (std::size_t i = 0; i <= s.size(); ++i)
            if (glob_match(pat.substr(1), s.substr(i))) return true;
        return false;
    }
    if (s.empty()) return false;
    if (pat[0] == '[') {
        auto close = pat.find(']', 1);
        if (close != std::string_view::npos) {
            bool neg = close > 1 && (pat[1] == '!' || pat[1] == '^');
            bool hit = false;
            for (std::size_t k = neg ? 2 : 1; k < close; ++k) {
                if (k + 2 < close && pat[k + 1] == '-') {
                    hit |= pat[k] <= s[0] && s[0] <= pat[k + 2];
                    k += 2;
                } else {
                    hit |= pat[k] == s[0];
                }
            }
            return hit != neg && glob_match(pat.substr(close + 1), s.substr(1));
        }
    }
    if (pat[0] != '?' && pat[0] != s[0]) return false;
    return glob_match(pat.substr(1), s.substr(1));
}

bool valid_label(const std::string& label) {
    if (label == ".") return true;
    if (label.empty() || (label[0] >= '0' && label[0] <= '9')) return false;
    return std::all_of(label.begin(), label.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_';
    });
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos;
         pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

// Kind of a nuisance present in two cards: equal kinds, or shape?/lnN/shape mixes.
NuisanceKind merged_kind(const std::string& name, NuisanceKind a, NuisanceKind b) {
    if (a == b) return a;
    auto optional_mix = [](NuisanceKind x, NuisanceKind y) {
        return x == NuisanceKind::shape_optional &&
               (y == NuisanceKind::lnN || y == NuisanceKind::shape);
    };
    if (optional_mix(a, b) || optional_mix(b, a)) return NuisanceKind::shape_optional;
    fail(std::string("expected nuisance '") + name +
             "' to have the same type in every card (" + to_string(a) + " vs " +
             to_string(b) + "; shape and lnN effects mix only through shape?)",
         to_string(b));
}

// The shapes lines of one card rewritten for its renamed bin: same lookup result as in
// the original card (an exact-channel line hides '*' channel lines).
void rewrite_shapes(const Datacard& card, const std::string& bin,
                    const std::string& out_bin, std::vector<ShapeLine>& out) {
    std::vector<const ShapeLine*> exact, star;
    for (const auto& s : card.shapes) {
        if (s.channel == bin)
            exact.push_back(&s);
        else if (s.channel == "*")
            star.push_back(&s);
    }
    auto has = [&](const std::string& process) {
        return std::any_of(exact.begin(), exact.end(),
                           [&](const ShapeLine* s) { return s->process == process; });
    };
    std::vector<const ShapeLine*> chosen(exact);
    for (const ShapeLine* s : star) {
        if (has(s->process)) continue;
        if (s->process != "*" && has("*")) continue; // (bin, *) outranks (*, process)
        chosen.push_back(s);
    }
    for (const ShapeLine* s : chosen) {
        ShapeLine l = *s;
        l.channel = out_bin;
        // $CHANNEL meant the original bin name
        replace_all(l.file, "$CHANNEL", bin);
        replace_all(l.nominal, "$CHANNEL", bin);
        replace_all(l.systematic, "$CHANNEL", bin);
        out.push_back(std::move(l));
    }
}

} // namespace

Datacard combine_cards(const std::vector<std::pair<std::string, Datacard>>& cards) {
    Datacard out;
    out.source = "<combined>";
    if (cards.empty()) fail("expected at least one card", "");
    bool any_shapes = std::any_of(cards.begin(), cards.end(),
                                  [](const auto& c) { return c.second.has_shapes(); });
    bool any_obs = std::any_of(cards.begin(), cards.end(), [](const auto& c) {
        return !c.second.observation.empty();
    });

    // processes: roles must agree; ids renumbered (signals 0, -1, ...; backgrounds 1,
    // 2, ...)
    std::vector<std::string> signals, backgrounds;
    std::map<std::string, bool> role;
    for (const auto& [label, card] : cards)
        for (const auto& c : card.columns) {
            bool sig = c.process_id <= 0;
            auto [it, fresh] = role.emplace(c.process, sig);
            if (!fresh && it->second != sig)
                fail("expected process '" + c.process +
                         "' to be signal in every card or background in every card (" +
                         card.source + " disagrees)",
                     c.process);
            if (fresh) (sig ? signals : backgrounds).push_back(c.process);
        }
    auto id_of = [&](const std::string& p) {
        auto s = std::find(signals.begin(), signals.end(), p);
        if (s != signals.end()) return -static_cast<int>(s - signals.begin());
        auto b = std::find(backgrounds.begin(), backgrounds.end(), p);
        return static_cast<int>(b - backgrounds.begin()) + 1;
    };

    std::map<std::string, std::size_t>
        row_of; // nuisance name -> index in out.nuisances
    std::set<std::string> labels;
    for (const auto& [label, card] : cards) {
        if (!valid_label(label))
            fail("expected a label that is an identifier not starting with a digit, or "
                 "'.'",
                 label);
        if (label != "." && !labels.insert(label).second)
            fail("expected distinct labels", label);
        if (any_obs && card.observation.empty())
            fail("expected an observation line in every card (" + card.source +
                     " has none)",
                 card.source);
        std::map<std::string, std::string> rename;
        for (const auto& b : card.bins) {
            std::string nb = label == "."            ? b
                             : card.bins.size() == 1 ? label
                                                     : label + "_" + b;
            if (std::find(out.bins.begin(), out.bins.end(), nb) != out.bins.end())
                fail("expected distinct bin names in the combined card", nb);
            rename[b] = nb;
            out.bins.push_back(nb);
        }
        out.observation.insert(out.observation.end(), card.observation.begin(),
                               card.observation.end());

        const std::size_t offset = out.columns.size();
        for (const auto& c : card.columns) {
            Column n = c;
            n.bin = rename.at(c.bin);
            n.process_id = id_of(c.process);
            out.columns.push_back(std::move(n));
        }
        for (auto& n : out.nuisances)
            if (n.kind != NuisanceKind::param) n.effects.resize(out.columns.size());

        for (const auto& n : card.nuisances) {
            auto it = row_of.find(n.name);
            if (it == row_of.end()) {
                Nuisance m = n;
                if (m.kind != NuisanceKind::param) {
                    m.effects.assign(out.columns.size(), Effect{});
                    for (std::size_t i = 0;
                         i < n.effects.size() && offset + i < m.effects.size(); ++i)
                        m.effects[offset + i] = n.effects[i];
                }
                row_of.emplace(n.name, out.nuisances.size());
                out.nuisances.push_back(std::move(m));
                continue;
            }
            Nuisance& m = out.nuisances[it->second];
            if ((m.kind == NuisanceKind::param) != (n.kind == NuisanceKind::param))
                fail("expected nuisance '" + n.name +
                         "' to have the same type in every card",
                     to_string(n.kind));
            if (n.kind == NuisanceKind::param) {
                if (m.mean != n.mean || m.sigma_lo != n.sigma_lo ||
                    m.sigma_hi != n.sigma_hi || m.range != n.range)
                    fail("expected param '" + n.name + "' to be the same in every card",
                         card.source);
                continue;
            }
            m.kind = merged_kind(n.name, m.kind, n.kind);
            if (m.kind == NuisanceKind::gmN && m.gmn_events != n.gmn_events)
                fail("expected gmN '" + n.name + "' to have the same N in every card",
                     std::to_string(n.gmn_events));
            m.nofloat = m.nofloat || n.nofloat;
            for (std::size_t i = 0;
                 i < n.effects.size() && offset + i < m.effects.size(); ++i)
                m.effects[offset + i] = n.effects[i];
        }

        // globs are resolved against this card's columns: they must not reach other
        // cards
        for (const auto& p : card.rate_params) {
            std::set<std::pair<std::string, std::string>> seen;
            for (const auto& c : card.columns) {
                if (!glob_match(p.bin, c.bin) || !glob_match(p.process, c.process))
                    continue;
                RateParam q = p;
                q.bin = rename.at(c.bin);
                q.process = c.process;
                if (seen.insert({q.bin, q.process}).second)
                    out.rate_params.push_back(q);
            }
        }
        for (const auto& a : card.ext_args) {
            auto same = std::find_if(out.ext_args.begin(), out.ext_args.end(),
                                     [&](const ExtArg& o) { return o.name == a.name; });
            if (same == out.ext_args.end())
                out.ext_args.push_back(a);
            else if (same->init != a.init || same->range != a.range)
                fail("expected extArg '" + a.name + "' to be the same in every card",
                     card.source);
        }
        for (const auto& a : card.auto_mc_stats)
            for (const auto& b : card.bins)
                if (glob_match(a.bin, b)) {
                    AutoMCStats m = a;
                    m.bin = rename.at(b);
                    auto prev = std::find_if(
                        out.auto_mc_stats.begin(), out.auto_mc_stats.end(),
                        [&](const AutoMCStats& o) { return o.bin == m.bin; });
                    if (prev != out.auto_mc_stats.end())
                        *prev = m; // the later line wins
                    else
                        out.auto_mc_stats.push_back(m);
                }
        for (const auto& g : card.groups) {
            auto same = std::find_if(out.groups.begin(), out.groups.end(),
                                     [&](const Group& o) { return o.name == g.name; });
            if (same == out.groups.end()) {
                out.groups.push_back(g);
                continue;
            }
            for (const auto& m : g.members)
                if (std::find(same->members.begin(), same->members.end(), m) ==
                    same->members.end())
                    same->members.push_back(m);
        }
        for (const auto& b : card.bins) {
            if (card.has_shapes()) rewrite_shapes(card, b, rename.at(b), out.shapes);
            if (any_shapes && !card.has_shapes()) {
                // a counting channel in a shape card (combineCards' FAKE)
                ShapeLine fake;
                fake.process = "*";
                fake.channel = rename.at(b);
                fake.file = "FAKE";
                out.shapes.push_back(fake);
            }
        }
    }
    return out;
}

} // namespace hifit::datacard
