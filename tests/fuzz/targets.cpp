#include "targets.hpp"

#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>
#include <hifit/likelihood/model.hpp>

#include <algorithm>
#include <stdexcept>

namespace hifit::fuzz {

namespace {

// A model is built and evaluated once at its suggested start, as every command does.
void evaluate(const Workspace& ws) {
    const Model model = ws.model();
    const std::vector<double> data = ws.data(model);
    Likelihood lh(model, data);
    lh.twice_nll(model.suggested_init());
}

// Steps after reading that may refuse a valid input (a conversion without an exact
// counterpart): their clean errors do not make the input refused.
template <class Step> void also(Step step) {
    try {
        step();
    } catch (const Error&) {
    }
}

bool is_json_array(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '[';
}

// Two-bin templates for every request of a shape card (nominal, up, down), so the
// model builder runs on cards whose ROOT files are not read here.
datacard::Templates synthetic_templates(const datacard::Datacard& card) {
    datacard::Templates out;
    for (const auto& r : datacard::shape_requests(card)) {
        const double scale = r.variation.empty()           ? 1.0
                             : r.variation.ends_with("Up") ? 1.2
                                                           : 0.8;
        out[{r.channel, r.process, r.variation}] = datacard::Histogram{
            {1.0 * scale, 2.0 * scale}, {1.0, 2.0}, {0.0, 1.0, 2.0}};
    }
    return out;
}

} // namespace

const char* name_of(Parser parser) {
    switch (parser) {
    case Parser::workspace:
        return "workspace";
    case Parser::patchset:
        return "patchset";
    case Parser::datacard:
        return "datacard";
    }
    return "?";
}

std::optional<Parser> parser_named(std::string_view name) {
    for (Parser p : kParsers)
        if (name == name_of(p)) return p;
    return std::nullopt;
}

Targets::Targets(std::string_view patch_background)
    : background_(Workspace::from_json(patch_background, "<background>")) {}

bool Targets::run(Parser parser, std::string_view input, std::string* refusal) const {
    try {
        switch (parser) {
        case Parser::workspace:
            return workspace(input);
        case Parser::patchset:
            return patchset(input);
        case Parser::datacard:
            return datacard(input);
        }
    } catch (const Error& e) {
        if (refusal) *refusal = e.what(); // a clean, documented refusal
    }
    return false;
}

bool Targets::workspace(std::string_view input) const {
    const Workspace ws = Workspace::from_json(input, "fuzz.json");
    evaluate(ws);
    also([&] { // the conversion to a card and back, as `hifit datacard` does
        const auto converted = datacard::to_datacard(ws.spec(), "fuzz.root");
        datacard::parse_datacard(datacard::write_datacard(converted.card),
                                 "converted.txt");
    });
    return true;
}

bool Targets::patchset(std::string_view input) const {
    if (is_json_array(input)) { // one JSON patch (`--patch file.json`)
        evaluate(background_.apply_patch(input, "fuzz-patch.json"));
        return true;
    }
    const PatchSet ps = PatchSet::from_json(input, "fuzz.json");
    ps.description();
    const std::size_t n = std::min<std::size_t>(ps.names().size(), 4);
    for (std::size_t i = 0; i < n; ++i) {
        ps.values_json(i);
        ps.patch_json(ps.names()[i]);
    }
    for (std::size_t i = 0; i < n; ++i) evaluate(ps.apply(background_, ps.names()[i]));
    return true;
}

bool Targets::datacard(std::string_view input) const {
    const datacard::Datacard card = datacard::parse_datacard(input, "fuzz.txt");
    // What hifit writes must read back (hifit datacard combine / convert).
    const std::string written = datacard::write_datacard(card);
    try {
        datacard::parse_datacard(written, "written.txt");
    } catch (const Error& e) {
        throw std::logic_error(std::string("a written card does not read back: ") +
                               e.what() + "\n--- written card ---\n" + written);
    }
    also([&] { datacard::combine_cards({{"a", card}, {"b", card}}); });
    const datacard::Templates templates = synthetic_templates(card);
    datacard::CombineOptions options;
    options.check_norm = false;
    const auto model = datacard::build_model(card, templates, options);
    Likelihood lh(model.model, model.data);
    lh.twice_nll(model.model.suggested_init());
    also([&] { datacard::to_workspace(card, templates, options); });
    return true;
}

} // namespace hifit::fuzz
