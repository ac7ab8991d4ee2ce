// Which TH1 objects a card needs: Combine's shapes-line lookup and name substitution.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include <charconv>
#include <cmath>

namespace hifit::datacard {

namespace {

bool is_shape_kind(NuisanceKind k) {
    return k == NuisanceKind::shape || k == NuisanceKind::shape_optional ||
           k == NuisanceKind::shapeN || k == NuisanceKind::shapeU;
}

// $MASS as Combine prints it: "%d" when integral, else Python's shortest repr.
std::string mass_text(double mass) {
    if (std::isfinite(mass) && mass == std::floor(mass) && std::abs(mass) < 1e15)
        return std::to_string(static_cast<long long>(mass));
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, mass);
    return ec == std::errc() ? std::string(buf, ptr) : std::to_string(mass);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    for (std::size_t pos = s.find(from); pos != std::string::npos;
         pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

// Combine's order: exact channel (exact process, then '*'), then '*' channel (same).
const ShapeLine* lookup(const Datacard& card, const std::string& channel,
                        const std::string& process) {
    for (const std::string& ch : {channel, std::string("*")})
        for (const std::string& pr : {process, std::string("*")})
            for (const auto& s : card.shapes)
                if (s.channel == ch && s.process == pr) return &s;
    return nullptr;
}

} // namespace

std::vector<ShapeRequest> shape_requests(const Datacard& card,
                                         const ShapeRequestOptions& options) {
    std::vector<ShapeRequest> out;
    if (card.shapes.empty()) return out; // a counting card
    const std::string mass = mass_text(options.mass);

    auto substitute = [&](std::string s, const std::string& channel,
                          const std::string& process, const std::string& variation) {
        replace_all(s, "$PROCESS", process);
        replace_all(s, "$CHANNEL", channel);
        replace_all(s, "$SYSTEMATIC", variation);
        replace_all(s, "$MASS", mass);
        for (const auto& [word, value] : options.keywords)
            replace_all(s, "$" + word, value);
        return s;
    };
    auto mapping = [&](const std::string& channel, const std::string& process) {
        const ShapeLine* s = lookup(card, channel, process);
        if (!s)
            throw InvalidSpec(card.source + ":" +
                              std::to_string(card.shapes.front().line) +
                              ": expected a shapes line matching process '" + process +
                              "' in channel '" + channel + "', found '<none>'");
        return s;
    };
    auto request = [&](const ShapeLine& s, const std::string& channel,
                       const std::string& process, const std::string& variation,
                       const std::string& pattern, bool required) {
        ShapeRequest r;
        r.channel = channel;
        r.process = process;
        r.variation = variation;
        r.file = substitute(s.file, channel, process, variation);
        r.object = substitute(pattern, channel, process, variation);
        r.required = required;
        r.line = s.line;
        out.push_back(std::move(r));
    };

    for (std::size_t b = 0; b < card.bins.size(); ++b) {
        const std::string& bin = card.bins[b];
        // Without an observed count (-1 or no observation line) a card may have no
        // data at all (PocketCoffea writes such cards): the data template is optional.
        bool data_required = b < card.observation.size() && card.observation[b] != -1.0;
        const ShapeLine* data = mapping(bin, "data_obs");
        if (data->file != "FAKE")
            request(*data, bin, "data_obs", "", data->nominal, data_required);
        for (std::size_t i = 0; i < card.columns.size(); ++i) {
            const Column& c = card.columns[i];
            if (c.bin != bin || c.rate == 0.0) continue;
            const ShapeLine* s = mapping(bin, c.process);
            if (s->file == "FAKE") continue;
            request(*s, bin, c.process, "", s->nominal, true);
            for (const auto& n : card.nuisances) {
                if (!is_shape_kind(n.kind) || i >= n.effects.size() ||
                    !n.effects[i].active)
                    continue;
                bool required = n.kind != NuisanceKind::shape_optional;
                if (s->systematic.empty()) {
                    if (!required) continue; // shape? without templates: an lnN
                    throw InvalidSpec(card.source + ":" + std::to_string(s->line) +
                                      ": expected a systematic pattern (6th entry) for "
                                      "shape nuisance '" +
                                      n.name + "' of process '" + c.process +
                                      "' in channel '" + bin + "', found '<none>'");
                }
                for (const char* dir : {"Up", "Down"})
                    request(*s, bin, c.process, n.name + dir, s->systematic, required);
            }
        }
    }
    return out;
}

} // namespace hifit::datacard
