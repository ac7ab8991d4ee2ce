// Datacard -> Combine card text. Every block is laid out as a table whose column width
// is the longest cell plus two spaces, so tokens can never run together (PocketCoffea's
// writer padded to a fixed width and merged long process names into one token).
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

namespace hifit::datacard {

namespace {

using Row = std::vector<std::string>;
const std::string kSeparator(80, '-');

// Shortest text that parses back to the same double ("1.05", "4321", "3.45679e-05").
std::string number(double v) {
    if (!std::isfinite(v))
        throw InvalidArgument("datacard: cannot write the non-finite number " +
                              std::to_string(v));
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

std::string range_text(const std::optional<std::pair<double, double>>& r) {
    return r ? "[" + number(r->first) + "," + number(r->second) + "]" : std::string{};
}

// Names end up as whitespace-separated tokens: anything that would split or comment
// them out would silently change the card.
const std::string& token(const std::string& value, const std::string& what) {
    if (value.empty()) throw InvalidArgument("datacard: " + what + " is empty");
    for (char c : value)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '#')
            throw InvalidArgument("datacard: " + what + " '" + value +
                                  "' contains whitespace or '#'");
    return value;
}

std::string effect_text(const Effect& e) {
    if (!e.active) return "-";
    if (e.asymmetric) return number(e.lo) + "/" + number(e.hi);
    return number(e.hi);
}

// Rows with shared column widths; an empty row stands for a separator line.
void render(std::ostringstream& out, const std::vector<Row>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        if (width.size() < row.size()) width.resize(row.size(), 0);
        for (std::size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    }
    for (const auto& row : rows) {
        if (row.empty()) {
            out << kSeparator << '\n';
            continue;
        }
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line.append(width[i] + 2 - row[i].size(), ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << '\n';
    }
}

// A formula must reach Combine as one parenthesised token: "(@0*@1)".
std::string formula_text(const RateParam& rp) {
    const std::string& f = token(rp.formula, "formula of rateParam '" + rp.name + "'");
    bool enclosed = f.front() == '(' && f.back() == ')';
    int depth = 0;
    for (std::size_t i = 0; enclosed && i < f.size(); ++i) {
        depth += f[i] == '(' ? 1 : f[i] == ')' ? -1 : 0;
        if (depth == 0 && i + 1 < f.size()) enclosed = false; // "(a)*(b)"
    }
    return enclosed ? f : "(" + f + ")";
}

std::vector<std::string> bin_names(const Datacard& card) {
    if (!card.bins.empty()) return card.bins;
    std::vector<std::string> bins;
    for (const auto& c : card.columns)
        if (std::find(bins.begin(), bins.end(), c.bin) == bins.end())
            bins.push_back(c.bin);
    return bins;
}

std::size_t process_count(const Datacard& card) {
    std::set<std::string> names;
    for (const auto& c : card.columns) names.insert(c.process);
    return names.size();
}

void check_structure(const Datacard& card, const std::vector<std::string>& bins) {
    for (const auto& b : bins) {
        token(b, "bin name");
        if (std::isdigit(static_cast<unsigned char>(b.front())))
            throw InvalidArgument("datacard: bin '" + b +
                                  "' starts with a digit, which Combine rejects; "
                                  "prefix it (e.g. 'ch_" +
                                  b + "')");
    }
    if (!card.observation.empty() && card.observation.size() != bins.size())
        throw InvalidArgument("datacard: " + std::to_string(card.observation.size()) +
                              " observations for " + std::to_string(bins.size()) +
                              " bins");
    for (const auto& c : card.columns) {
        token(c.process, "process name");
        if (std::find(bins.begin(), bins.end(), c.bin) == bins.end())
            throw InvalidArgument("datacard: column of process '" + c.process +
                                  "' is in bin '" + c.bin + "', which is not declared");
    }
    for (const auto& n : card.nuisances) {
        token(n.name, "nuisance name");
        if (n.kind != NuisanceKind::param && n.effects.size() != card.columns.size())
            throw InvalidArgument("datacard: nuisance '" + n.name + "' has " +
                                  std::to_string(n.effects.size()) + " entries for " +
                                  std::to_string(card.columns.size()) + " columns");
    }
}

void write_header(std::ostringstream& out, const Datacard& card,
                  const std::vector<std::string>& bins) {
    out << "imax " << bins.size() << '\n';
    std::size_t nproc = process_count(card);
    out << "jmax " << (nproc == 0 ? 0 : nproc - 1) << '\n';
    out << "kmax " << card.nuisances.size() << '\n';
    out << kSeparator << '\n';
    if (!card.shapes.empty()) {
        std::vector<Row> rows;
        for (const auto& s : card.shapes) {
            Row row{"shapes", token(s.process, "shapes process"),
                    token(s.channel, "shapes channel"), token(s.file, "shapes file")};
            if (s.file != "FAKE") row.push_back(token(s.nominal, "shapes object"));
            if (!s.systematic.empty())
                row.push_back(token(s.systematic, "shapes systematic object"));
            rows.push_back(std::move(row));
        }
        render(out, rows);
        out << kSeparator << '\n';
    }
    if (!card.observation.empty()) {
        Row bin_row{"bin"}, obs_row{"observation"};
        for (std::size_t i = 0; i < bins.size(); ++i) {
            bin_row.push_back(bins[i]);
            obs_row.push_back(number(card.observation[i]));
        }
        render(out, {bin_row, obs_row});
        out << kSeparator << '\n';
    }
}

Row nuisance_row(const Nuisance& n) {
    std::string name = n.nofloat ? n.name + "[nofloat]" : n.name;
    std::string kind = to_string(n.kind);
    if (n.kind == NuisanceKind::gmN) kind += " " + number(n.gmn_events);
    Row row{name, kind};
    if (n.kind == NuisanceKind::param) {
        row.push_back(number(n.mean));
        row.push_back(n.sigma_lo == n.sigma_hi
                          ? number(n.sigma_hi)
                          : "-" + number(n.sigma_lo) + "/+" + number(n.sigma_hi));
        if (n.range) row.push_back(range_text(n.range));
        return row;
    }
    for (const auto& e : n.effects) row.push_back(effect_text(e));
    return row;
}

// The process block and the nuisance rows share one table so values line up under
// their column.
void write_columns(std::ostringstream& out, const Datacard& card) {
    std::vector<Row> rows(4);
    rows[0] = {"bin", ""};
    rows[1] = {"process", ""};
    rows[2] = {"process", ""};
    rows[3] = {"rate", ""};
    for (const auto& c : card.columns) {
        rows[0].push_back(c.bin);
        rows[1].push_back(c.process);
        rows[2].push_back(std::to_string(c.process_id));
        rows[3].push_back(number(c.rate));
    }
    if (!card.nuisances.empty()) rows.emplace_back(); // separator
    for (const auto& n : card.nuisances) rows.push_back(nuisance_row(n));
    render(out, rows);
    out << kSeparator << '\n';
}

// rateParam, extArg, autoMCStats and group lines: one table per directive, so that
// each aligns with its own kind.
void write_directives(std::ostringstream& out, const Datacard& card) {
    std::vector<Row> rate_params, ext_args, mc_stats, groups;
    for (const auto& rp : card.rate_params) {
        Row row{token(rp.name, "rateParam name"), "rateParam",
                token(rp.bin, "rateParam bin"), token(rp.process, "rateParam process")};
        if (rp.formula.empty()) {
            row.push_back(number(rp.init));
            if (rp.range) row.push_back(range_text(rp.range));
        } else {
            row.push_back(formula_text(rp));
            std::string args;
            for (const auto& a : rp.args)
                args += (args.empty() ? "" : ",") + token(a, "rateParam argument");
            if (!args.empty()) row.push_back(args);
        }
        rate_params.push_back(std::move(row));
    }
    for (const auto& x : card.ext_args) {
        Row row{token(x.name, "extArg name"), "extArg", number(x.init)};
        if (x.range) row.push_back(range_text(x.range));
        ext_args.push_back(std::move(row));
    }
    for (const auto& a : card.auto_mc_stats)
        mc_stats.push_back({token(a.bin, "autoMCStats bin"), "autoMCStats",
                            number(a.threshold), a.include_signal ? "1" : "0",
                            std::to_string(a.hist_mode)});
    for (const auto& g : card.groups) {
        Row row{token(g.name, "group name"), "group", "="};
        for (const auto& m : g.members) row.push_back(token(m, "group member"));
        groups.push_back(std::move(row));
    }
    bool any = false;
    for (const auto* rows : {&rate_params, &ext_args, &mc_stats, &groups}) {
        if (rows->empty()) continue;
        render(out, *rows);
        any = true;
    }
    if (any) out << kSeparator << '\n';
}

} // namespace

std::string write_datacard(const Datacard& card, std::string_view comment) {
    std::ostringstream out;
    if (!comment.empty()) {
        std::istringstream lines{std::string(comment)};
        for (std::string line; std::getline(lines, line);) out << "# " << line << '\n';
    }
    const auto bins = bin_names(card);
    check_structure(card, bins);
    write_header(out, card, bins);
    write_columns(out, card);
    write_directives(out, card);
    return out.str();
}

} // namespace hifit::datacard
