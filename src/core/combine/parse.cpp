// CMS Combine datacard parser: the rules of Combine's DatacardParser (a header pass up
// to the `rate` line, then one directive per line), with strict numbers and errors that
// name the file, the line and the offending token.
#include <hifit/combine/datacard.hpp>
#include <hifit/errors.hpp>

#include "enum_names.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>

namespace hifit::datacard {

const char* to_string(NuisanceKind kind) {
    static constexpr const char* names[] = {"lnN",    "lnU",    "gmN",    "shape",
                                            "shape?", "shapeN", "shapeU", "param"};
    return enum_name(kind, names);
}

std::vector<std::string> Datacard::processes() const {
    std::vector<std::string> out;
    for (const auto& c : columns)
        if (std::find(out.begin(), out.end(), c.process) == out.end())
            out.push_back(c.process);
    return out;
}

bool Datacard::is_signal(std::string_view process) const {
    return std::any_of(columns.begin(), columns.end(), [&](const Column& c) {
        return c.process == process && c.process_id <= 0;
    });
}

namespace {

constexpr std::string_view end_of_line = "<end of line>";

#ifdef __GLIBCXX__
constexpr auto kPolynomialRegex = std::regex_constants::__polynomial;
#else
constexpr auto kPolynomialRegex = std::regex_constants::syntax_option_type{};
#endif

bool is_shape_kind(NuisanceKind k) {
    return k == NuisanceKind::shape || k == NuisanceKind::shape_optional ||
           k == NuisanceKind::shapeN || k == NuisanceKind::shapeU;
}

std::optional<NuisanceKind> row_kind(std::string_view type) {
    if (type == "lnN") return NuisanceKind::lnN;
    if (type == "lnU") return NuisanceKind::lnU;
    if (type == "gmN") return NuisanceKind::gmN;
    if (type == "shape") return NuisanceKind::shape;
    if (type == "shape?") return NuisanceKind::shape_optional;
    if (type == "shapeN") return NuisanceKind::shapeN;
    if (type == "shapeU") return NuisanceKind::shapeU;
    return std::nullopt;
}

bool all_dashes(std::string_view s) {
    return !s.empty() && s.find_first_not_of('-') == std::string_view::npos;
}

bool starts_with_digit(std::string_view s) {
    return !s.empty() && s[0] >= '0' && s[0] <= '9';
}

// Combine's "looks numeric" test for process lines: optional '-' then a digit.
bool looks_like_id(std::string_view s) {
    if (!s.empty() && s[0] == '-') s.remove_prefix(1);
    return starts_with_digit(s);
}

std::vector<std::string> split_ws(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
    };
    while (i < line.size()) {
        while (i < line.size() && space(line[i])) ++i;
        std::size_t j = i;
        while (j < line.size() && !space(line[j])) ++j;
        if (j > i) out.emplace_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<std::string> split_on(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos - start));
        if (pos == std::string_view::npos) break;
        start = pos + 1;
    }
    return out;
}

// A lone token without letters or digits ("=====", "***") separates blocks; Combine
// skips every one-token line, hifit only these (a lone name is an incomplete row).
bool is_separator(const std::vector<std::string>& tokens) {
    return tokens.size() == 1 &&
           std::none_of(tokens[0].begin(), tokens[0].end(),
                        [](unsigned char c) { return std::isalnum(c) != 0; });
}

// What a per-column entry looks like: '-', a number, or 'down/up' numbers.
bool looks_like_value(std::string_view tok) {
    if (all_dashes(tok)) return true;
    auto numeric = [](std::string_view s) {
        if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
        double v = 0.0;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
    };
    auto slash = tok.find('/');
    if (slash == std::string_view::npos) return numeric(tok);
    return numeric(tok.substr(0, slash)) && numeric(tok.substr(slash + 1));
}

bool is_glob(std::string_view s) {
    return s.find_first_of("*?[") != std::string_view::npos;
}

struct Row {
    std::vector<std::string> tokens;
    int line = 0;
};

class Parser {
  public:
    Parser(std::string_view text, const std::string& source) : source_(source) {
        int number = 0;
        std::size_t start = 0;
        while (start <= text.size()) {
            auto end = text.find('\n', start);
            if (end == std::string_view::npos) end = text.size();
            ++number;
            lines_.push_back({std::string(text.substr(start, end - start)), number});
            if (end == text.size()) break;
            start = end + 1;
        }
        // A last line without its newline may be a file cut short: errors on it say so.
        if (!text.empty() && text.back() != '\n') unterminated_line_ = number;
    }

    Datacard run() {
        card_.source = source_;
        std::size_t next = header();
        directives(next);
        check_groups();
        apply_edits();
        finish();
        return std::move(card_);
    }

  private:
    struct RawLine {
        std::string text;
        int number;
    };

    // ---- errors and numbers --------------------------------------------------------

    [[noreturn]] void fail(int line, const std::string& what,
                           std::string_view token) const {
        std::string shown(token.substr(0, 80));
        if (token.size() > 80) shown += "...";
        const std::string cut = line == unterminated_line_
                                    ? " (the file ends inside this line without a "
                                      "newline: is it truncated?)"
                                    : "";
        throw InvalidSpec(source_ + ":" + std::to_string(line) + ": " + what + cut +
                          ", found '" + shown + "'");
    }

    double number(int line, std::string_view tok, const std::string& what) const {
        std::string_view s = tok;
        if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+')
            s.remove_prefix(1);
        double v = 0.0;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() ||
            !std::isfinite(v))
            fail(line, what, tok);
        return v;
    }

    int integer(int line, std::string_view tok, const std::string& what) const {
        std::string_view s = tok;
        if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
        long long v = 0;
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() ||
            v < -1000000000 || v > 1000000000)
            fail(line, what, tok);
        return static_cast<int>(v);
    }

    // "[lo,hi]" possibly split over several tokens ("[0, 5]").
    std::pair<double, double> range(int line, const std::vector<std::string>& toks,
                                    std::size_t from) const {
        std::string joined;
        for (std::size_t i = from; i < toks.size(); ++i) joined += toks[i];
        if (joined.size() < 2 || joined.front() != '[' || joined.back() != ']')
            fail(line, "expected a range '[lo,hi]'", joined);
        auto parts =
            split_on(std::string_view(joined).substr(1, joined.size() - 2), ',');
        if (parts.size() != 2) fail(line, "expected a range '[lo,hi]'", joined);
        double lo =
            number(line, parts[0], "expected a number as the range's lower end");
        double hi =
            number(line, parts[1], "expected a number as the range's upper end");
        if (!(lo <= hi)) fail(line, "expected a range with lo <= hi", joined);
        return {lo, hi};
    }

    // ---- header pass ---------------------------------------------------------------

    // Comment stripping as Combine's systematics pass: a '#' and everything after it.
    static std::vector<std::string> tokens_of(const std::string& text) {
        auto hash = text.find('#');
        return split_ws(std::string_view(text).substr(0, hash));
    }

    std::optional<int> count_or_star(const Row& r) {
        if (r.tokens.size() < 2)
            fail(r.line, "expected a number or '*' after '" + r.tokens[0] + "'",
                 end_of_line);
        if (r.tokens[1] == "*") return std::nullopt;
        int n = integer(r.line, r.tokens[1],
                        "expected a number or '*' after '" + r.tokens[0] + "'");
        if (n < 0) fail(r.line, "expected a non-negative count", r.tokens[1]);
        return n;
    }

    std::size_t header() {
        std::vector<std::string> bin_line;
        int bin_line_no = 0;
        std::vector<std::string> names, ids;
        int names_line = 0, ids_line = 0;
        bool have_obs = false;
        for (std::size_t li = 0; li < lines_.size(); ++li) {
            Row r{tokens_of(lines_[li].text), lines_[li].number};
            if (r.tokens.empty()) continue;
            const std::string& key = r.tokens[0];
            if (key == "imax") {
                imax_ = count_or_star(r);
                imax_line_ = r.line;
            } else if (key == "jmax") {
                jmax_ = count_or_star(r);
                jmax_line_ = r.line;
            } else if (key == "kmax") {
                kmax_ = count_or_star(r);
                kmax_line_ = r.line;
            } else if (key == "shapes") {
                shapes_line(r);
            } else if (key == "observation" || key == "Observation") {
                if (bin_line_no == 0)
                    fail(r.line, "expected a 'bin' line before 'observation'", key);
                if (have_obs) fail(r.line, "expected a single 'observation' line", key);
                if (r.tokens.size() - 1 != bin_line.size())
                    fail(r.line,
                         "expected " + std::to_string(bin_line.size()) +
                             " observations (one per bin of the 'bin' line on line " +
                             std::to_string(bin_line_no) + ")",
                         r.tokens.size() > bin_line.size() + 1
                             ? r.tokens[bin_line.size() + 1]
                             : std::string(end_of_line));
                for (std::size_t i = 1; i < r.tokens.size(); ++i) {
                    double v =
                        number(r.line, r.tokens[i], "expected an observed count");
                    if (v < 0 && v != -1.0)
                        fail(r.line, "expected an observed count >= 0 (or -1)",
                             r.tokens[i]);
                    card_.observation.push_back(v);
                }
                card_.bins = bin_line;
                for (std::size_t i = 0; i < card_.bins.size(); ++i)
                    for (std::size_t j = 0; j < i; ++j)
                        if (card_.bins[i] == card_.bins[j])
                            fail(bin_line_no, "expected distinct bin names",
                                 card_.bins[i]);
                have_obs = true;
            } else if (key == "bin") {
                bin_line.assign(r.tokens.begin() + 1, r.tokens.end());
                bin_line_no = r.line;
                if (bin_line.empty())
                    fail(r.line, "expected bin names after 'bin'", end_of_line);
                for (const auto& b : bin_line)
                    if (starts_with_digit(b))
                        fail(r.line, "expected a bin name not starting with a digit",
                             b);
            } else if (key == "process") {
                if (names_line == 0) {
                    names.assign(r.tokens.begin() + 1, r.tokens.end());
                    names_line = r.line;
                    if (bin_line_no == 0)
                        fail(r.line, "expected a 'bin' line before 'process'", key);
                    if (names.size() != bin_line.size())
                        fail(r.line,
                             "expected " + std::to_string(bin_line.size()) +
                                 " processes (one per column of the 'bin' line on "
                                 "line " +
                                 std::to_string(bin_line_no) + ")",
                             names.size() > bin_line.size() ? names[bin_line.size()]
                                                            : std::string(end_of_line));
                } else if (ids_line == 0) {
                    ids.assign(r.tokens.begin() + 1, r.tokens.end());
                    ids_line = r.line;
                } else {
                    fail(r.line, "expected two 'process' lines (names and ids)", key);
                }
            } else if (key == "rate") {
                columns(r, bin_line, bin_line_no, names, ids, names_line, ids_line);
                return li + 1;
            }
            // anything else (free text, separators) is ignored, as Combine does
        }
        int last = lines_.empty() ? 1 : lines_.back().number;
        fail(last, "expected a 'rate' line (the end of the process block)",
             end_of_line);
    }

    void shapes_line(const Row& r) {
        const auto& t = r.tokens;
        bool fake = t.size() >= 4 && t[3] == "FAKE";
        if (t.size() < (fake ? 4u : 5u))
            fail(r.line,
                 "expected 'shapes <process> <channel> <file> <object> [<syst>]'",
                 end_of_line);
        if (t.size() > 6)
            fail(r.line, "expected at most 5 entries after 'shapes'", t[6]);
        for (const auto& s : card_.shapes)
            if (s.process == t[1] && s.channel == t[2])
                fail(r.line,
                     "expected one shapes line per (process, channel); line " +
                         std::to_string(s.line) + " already maps '" + t[1] + "' in '" +
                         t[2] + "'",
                     t[1]);
        ShapeLine s;
        s.process = t[1];
        s.channel = t[2];
        s.file = t[3];
        if (t.size() > 4) s.nominal = t[4];
        if (t.size() > 5) s.systematic = t[5];
        s.line = r.line;
        card_.shapes.push_back(std::move(s));
    }

    void columns(const Row& rate, const std::vector<std::string>& bin_line,
                 int bin_line_no, std::vector<std::string> names,
                 std::vector<std::string> ids, int names_line, int ids_line) {
        if (names_line == 0 || ids_line == 0)
            fail(rate.line,
                 "expected two 'process' lines (names and ids) before 'rate'",
                 rate.tokens[0]);
        // a 'bin' line after the 'process' line may have changed the column count
        if (bin_line.size() != names.size())
            fail(bin_line_no,
                 "expected " + std::to_string(names.size()) +
                     " bins (one per column of the 'process' line on line " +
                     std::to_string(names_line) + ")",
                 bin_line.size() > names.size() ? bin_line[names.size()]
                                                : std::string(end_of_line));
        int id_line = ids_line;
        // Combine swaps the lines when the first one holds the ids.
        if (!names.empty() && !ids.empty() && looks_like_id(names[0]) &&
            !looks_like_id(ids[0])) {
            std::swap(names, ids);
            id_line = names_line;
        }
        if (ids.size() != names.size())
            fail(ids_line,
                 "expected " + std::to_string(names.size()) +
                     " process ids (one per column of the 'bin' line)",
                 ids.size() > names.size() ? ids[names.size()]
                                           : std::string(end_of_line));
        if (rate.tokens.size() - 1 != names.size())
            fail(rate.line,
                 "expected " + std::to_string(names.size()) +
                     " rates (one per column of the 'bin' line)",
                 rate.tokens.size() - 1 > names.size() ? rate.tokens[names.size() + 1]
                                                       : std::string(end_of_line));
        bool declared = !card_.bins.empty();
        for (std::size_t i = 0; i < names.size(); ++i) {
            Column c;
            c.bin = bin_line[i];
            c.process = names[i];
            c.process_id = integer(id_line, ids[i], "expected an integer process id");
            c.rate = number(rate.line, rate.tokens[i + 1], "expected a rate (number)");
            if (c.rate < 0 && c.rate != -1.0)
                fail(rate.line, "expected a rate >= 0 (or -1: the template's integral)",
                     rate.tokens[i + 1]);
            if (declared) {
                if (std::find(card_.bins.begin(), card_.bins.end(), c.bin) ==
                    card_.bins.end())
                    fail(bin_line_no, "expected a bin of the 'observation' line",
                         c.bin);
            } else if (std::find(card_.bins.begin(), card_.bins.end(), c.bin) ==
                       card_.bins.end()) {
                card_.bins.push_back(c.bin);
            }
            for (const auto& o : card_.columns) {
                if (o.bin == c.bin && o.process == c.process)
                    fail(names_line,
                         "expected each process once per bin ('" + c.process +
                             "' appears twice in bin '" + c.bin + "')",
                         c.process);
                if (o.process == c.process &&
                    (o.process_id <= 0) != (c.process_id <= 0))
                    fail(id_line,
                         "expected process '" + c.process +
                             "' to be signal (id <= 0) or background (id > 0) in every "
                             "bin",
                         ids[i]);
            }
            card_.columns.push_back(std::move(c));
        }
    }

    // ---- directives ----------------------------------------------------------------

    void directives(std::size_t from) {
        for (std::size_t li = from; li < lines_.size(); ++li) {
            const auto& raw = lines_[li];
            if (raw.text.rfind("--", 0) == 0) continue;
            Row r{tokens_of(raw.text), raw.number};
            if (r.tokens.empty() || is_separator(r.tokens)) continue;
            if (r.tokens.size() == 1)
                fail(r.line,
                     "expected a directive type (and its values) after '" +
                         r.tokens[0] + "'",
                     end_of_line);
            directive(r);
        }
    }

    std::string nuisance_name(const Row& r, bool& nofloat) const {
        std::string name = r.tokens[0];
        nofloat = false;
        constexpr std::string_view tag = "[nofloat]";
        if (name.size() > tag.size() &&
            name.compare(name.size() - tag.size(), tag.size(), tag) == 0) {
            name.erase(name.size() - tag.size());
            nofloat = true;
        }
        if (starts_with_digit(name)) name.insert(0, "theta");
        return name;
    }

    void directive(const Row& r) {
        const std::string& type = r.tokens[1];
        if (auto kind = row_kind(type)) return effect_row(r, *kind);
        if (type == "param") return param(r);
        if (type == "rateParam") return rate_param(r);
        if (type == "extArg") return ext_arg(r);
        if (type == "autoMCStats") return auto_mc_stats(r);
        if (type == "group") return group(r);
        if (type == "edit") {
            if (r.tokens[0] != "nuisance")
                fail(r.line, "expected 'nuisance edit ...'", r.tokens[0]);
            edits_.push_back(r);
            return;
        }
        static const std::set<std::string, std::less<>> unsupported = {
            "gmM",       "trG",      "unif",     "dFD",     "dFD2",   "constr",
            "flatParam", "discrete", "pdfindex", "extArgs", "shape*", "shapeN2"};
        if (unsupported.count(type))
            fail(r.line,
                 "expected a supported directive ('" + type +
                     "' is valid Combine syntax but is not supported by hifit)",
                 type);
        fail(r.line,
             "expected a directive type (lnN, lnU, gmN, shape, shape?, shapeN, shapeU, "
             "param, "
             "rateParam, extArg, autoMCStats, group, or 'nuisance edit')",
             type);
    }

    // Parses one entry of a row in a column; returns the effect.
    Effect entry(int line, NuisanceKind kind, const std::string& tok) const {
        Effect e;
        if (all_dashes(tok)) return e;
        if (tok.find('/') != std::string::npos) {
            if (kind != NuisanceKind::lnN && kind != NuisanceKind::lnU &&
                kind != NuisanceKind::shape_optional)
                fail(
                    line,
                    std::string("expected a single value (asymmetric 'down/up' is only "
                                "allowed for lnN, lnU and shape?), not for ") +
                        to_string(kind),
                    tok);
            auto parts = split_on(tok, '/');
            if (parts.size() != 2) fail(line, "expected 'down/up'", tok);
            e.lo = number(line, parts[0], "expected 'down/up' with positive numbers");
            e.hi = number(line, parts[1], "expected 'down/up' with positive numbers");
            if (e.lo <= 0 || e.hi <= 0)
                fail(line, "expected 'down/up' with positive numbers", tok);
            e.asymmetric = true;
            e.active = !(kind == NuisanceKind::lnN && e.lo == 1.0 && e.hi == 1.0);
            return e;
        }
        double v = number(line, tok, "expected a number or '-'");
        if (v < 0) fail(line, "expected a value >= 0 (or '-')", tok);
        e.hi = v;
        e.active = v != 0.0 && !(kind == NuisanceKind::lnN && v == 1.0);
        if (!e.active) e.hi = 0.0;
        return e;
    }

    void add_row(Nuisance n, int line) {
        for (const auto& o : card_.nuisances) {
            if (o.name != n.name) continue;
            bool mixed = (is_shape_kind(o.kind) && n.kind == NuisanceKind::lnN) ||
                         (is_shape_kind(n.kind) && o.kind == NuisanceKind::lnN);
            if (mixed)
                fail(line,
                     "expected one row per nuisance; '" + n.name + "' is " +
                         to_string(o.kind) + " on line " + std::to_string(o.line) +
                         " (use one 'shape?' row for shape and lnN effects)",
                     n.name);
            fail(line,
                 "expected one row per nuisance; '" + n.name +
                     "' is already defined on line " + std::to_string(o.line),
                 n.name);
        }
        card_.nuisances.push_back(std::move(n));
    }

    void effect_row(const Row& r, NuisanceKind kind) {
        Nuisance n;
        n.name = nuisance_name(r, n.nofloat);
        n.kind = kind;
        n.line = r.line;
        std::size_t first = 2;
        if (kind == NuisanceKind::gmN) {
            if (r.tokens.size() < 3)
                fail(r.line, "expected the number of events N after 'gmN'",
                     end_of_line);
            n.gmn_events = number(r.line, r.tokens[2],
                                  "expected the number of events N after 'gmN'");
            if (n.gmn_events < 0)
                fail(r.line, "expected a number of events N >= 0 after 'gmN'",
                     r.tokens[2]);
            first = 3;
        }
        ++counted_rows_;
        const std::size_t ncol = card_.columns.size();
        if (r.tokens.size() - first < ncol)
            fail(r.line,
                 "expected " + std::to_string(ncol) + " values after '" + r.tokens[1] +
                     "' (one per column)",
                 end_of_line);
        // Free text after the values is a comment (Combine's tutorials do it); one more
        // value is not: it would be a column the card does not have.
        if (r.tokens.size() - first > ncol && looks_like_value(r.tokens[first + ncol]))
            fail(r.line,
                 "expected " + std::to_string(ncol) + " values after '" + r.tokens[1] +
                     "' (one per column; start a trailing comment with '#')",
                 r.tokens[first + ncol]);
        bool any = false;
        for (std::size_t i = 0; i < ncol; ++i) {
            Effect e = entry(r.line, kind, r.tokens[first + i]);
            if (kind == NuisanceKind::gmN && e.active && card_.columns[i].rate == 0.0)
                card_.columns[i].rate = 1e-6; // as Combine: a zero-event sideband
            any |= e.active && card_.columns[i].rate != 0.0;
            n.effects.push_back(e);
        }
        if (!any) {
            dropped_.insert(n.name); // no effect anywhere: dropped, as Combine does
            return;
        }
        add_row(std::move(n), r.line);
    }

    void param(const Row& r) {
        Nuisance n;
        n.name = nuisance_name(r, n.nofloat);
        n.kind = NuisanceKind::param;
        n.line = r.line;
        const auto& t = r.tokens;
        if (t.size() < 4)
            fail(r.line, "expected 'param <mean> <sigma> [range]'", end_of_line);
        n.mean = number(r.line, t[2], "expected the mean (number) after 'param'");
        if (t[3].find('/') != std::string::npos) {
            auto parts = split_on(t[3], '/');
            if (parts.size() != 2)
                fail(r.line, "expected an asymmetric sigma '-a/+b'", t[3]);
            n.sigma_lo = std::abs(
                number(r.line, parts[0], "expected an asymmetric sigma '-a/+b'"));
            n.sigma_hi = std::abs(
                number(r.line, parts[1], "expected an asymmetric sigma '-a/+b'"));
        } else {
            n.sigma_lo = n.sigma_hi =
                number(r.line, t[3], "expected the sigma (number)");
        }
        if (!(n.sigma_lo > 0) || !(n.sigma_hi > 0))
            fail(r.line, "expected a positive sigma", t[3]);
        if (t.size() > 4) n.range = range(r.line, t, 4);
        ++counted_rows_;
        add_row(std::move(n), r.line);
    }

    // Exact (non-glob) bin/process names must name a column.
    void check_target(const Row& r, const std::string& bin,
                      const std::string& process) {
        bool bin_glob = is_glob(bin), proc_glob = is_glob(process);
        if (!bin_glob &&
            std::find(card_.bins.begin(), card_.bins.end(), bin) == card_.bins.end())
            fail(r.line, "expected a bin of the card", bin);
        if (bin_glob || proc_glob) return;
        for (const auto& c : card_.columns)
            if (c.bin == bin && c.process == process) return;
        fail(r.line, "expected a process of bin '" + bin + "'", process);
    }

    void rate_param(const Row& r) {
        const auto& t = r.tokens;
        RateParam p;
        bool nofloat = false;
        p.name = nuisance_name(r, nofloat);
        p.line = r.line;
        if (t.size() < 5)
            fail(r.line, "expected 'name rateParam <bin> <process> <value> [range]'",
                 end_of_line);
        p.bin = t[2];
        p.process = t[3];
        check_target(r, p.bin, p.process);
        const std::string& v = t[4];
        if (!v.empty() && v.front() == '(') {
            if (v.size() < 2 || v.back() != ')')
                fail(r.line, "expected a formula '(expression)' without spaces", v);
            p.formula = v;
            if (t.size() > 6)
                fail(r.line, "expected 'name rateParam <bin> <process> (expr) a,b,...'",
                     t[6]);
            if (t.size() == 6) {
                p.args = split_on(t[5], ',');
                for (const auto& a : p.args)
                    if (a.empty())
                        fail(r.line, "expected comma-separated argument names", t[5]);
            }
            // @N must refer to a listed argument
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (v[i] != '@') continue;
                std::size_t j = i + 1;
                while (j < v.size() && v[j] >= '0' && v[j] <= '9') ++j;
                if (j == i + 1) fail(r.line, "expected '@<index>' in the formula", v);
                auto idx = std::string_view(v).substr(i + 1, j - i - 1);
                if (idx.size() > 6 || std::stoul(std::string(idx)) >= p.args.size())
                    fail(r.line,
                         "expected formula indices below " +
                             std::to_string(p.args.size()) +
                             " (the number of arguments)",
                         std::string("@") + std::string(idx));
            }
        } else if (v.find(':') != std::string::npos) {
            fail(r.line,
                 "expected an initial value or a formula (rateParam imports from a "
                 "workspace 'file.root:ws' are not supported)",
                 v);
        } else {
            p.init =
                number(r.line, v, "expected an initial value (number) or a formula");
            if (t.size() > 5) p.range = range(r.line, t, 5);
        }
        card_.rate_params.push_back(std::move(p));
    }

    void ext_arg(const Row& r) {
        const auto& t = r.tokens;
        ExtArg a;
        bool nofloat = false;
        a.name = nuisance_name(r, nofloat);
        a.line = r.line;
        if (t.size() < 3)
            fail(r.line, "expected 'name extArg <value> [range]'", end_of_line);
        if (t[2].find(':') != std::string::npos ||
            t[2].find(".root") != std::string::npos)
            fail(r.line,
                 "expected an initial value (extArg imports from a workspace "
                 "'file.root:ws' are not supported)",
                 t[2]);
        a.init =
            number(r.line, t[2], "expected an initial value (number) after 'extArg'");
        if (t.size() > 3) a.range = range(r.line, t, 3);
        for (const auto& o : card_.ext_args)
            if (o.name == a.name)
                fail(r.line,
                     "expected one extArg per name (already on line " +
                         std::to_string(o.line) + ")",
                     a.name);
        card_.ext_args.push_back(std::move(a));
    }

    void auto_mc_stats(const Row& r) {
        const auto& t = r.tokens;
        if (t.size() < 3)
            fail(
                r.line,
                "expected '<bin> autoMCStats <threshold> [include_signal] [hist_mode]'",
                end_of_line);
        if (t.size() > 5)
            fail(
                r.line,
                "expected '<bin> autoMCStats <threshold> [include_signal] [hist_mode]'",
                t[5]);
        AutoMCStats a;
        a.bin = t[0];
        a.line = r.line;
        a.threshold = number(r.line, t[2], "expected a threshold (number)");
        if (a.threshold < 0 && a.threshold != -1.0)
            fail(r.line, "expected a threshold >= 0 (or -1)", t[2]);
        if (t.size() > 3)
            a.include_signal =
                integer(r.line, t[3], "expected include_signal 0 or 1") != 0;
        if (t.size() > 4) {
            a.hist_mode = integer(r.line, t[4], "expected hist_mode 1 or 2");
            if (a.hist_mode != 1 && a.hist_mode != 2)
                fail(r.line, "expected hist_mode 1 or 2", t[4]);
        }
        if (!is_glob(a.bin) &&
            std::find(card_.bins.begin(), card_.bins.end(), a.bin) == card_.bins.end())
            fail(r.line, "expected a bin of the card (or a pattern)", a.bin);
        card_.auto_mc_stats.push_back(std::move(a));
    }

    void group(const Row& r) {
        const auto& t = r.tokens;
        const std::string& name = t[0];
        if (t.size() < 3)
            fail(r.line, "expected '<group> group = <nuisances...>'", end_of_line);
        auto it = std::find_if(card_.groups.begin(), card_.groups.end(),
                               [&](const Group& g) { return g.name == name; });
        if (t[2] == "=") {
            if (it != card_.groups.end())
                fail(r.line,
                     "expected a new group ('=' redefines group '" + name + "')", t[2]);
            card_.groups.push_back({name, {}});
            it = card_.groups.end() - 1;
        } else if (t[2] == "+=") {
            if (it == card_.groups.end())
                fail(r.line,
                     "expected group '" + name + "' to be defined with '=' before '+='",
                     t[2]);
        } else {
            fail(r.line, "expected '=' or '+=' after 'group'", t[2]);
        }
        for (std::size_t i = 3; i < t.size(); ++i) {
            if (std::find(it->members.begin(), it->members.end(), t[i]) ==
                it->members.end())
                it->members.push_back(t[i]);
            group_lines_.emplace_back(name, t[i], r.line);
        }
    }

    // ---- nuisance edit -------------------------------------------------------------

    // Selector: '*' for all, otherwise a full-match regular expression (as Combine).
    // libstdc++'s default matcher recurses once per character of the name (a stack
    // overflow for names of ~30 k characters) and backtracks exponentially; its
    // polynomial mode (no back-references) does neither.
    bool selects(int line, const std::string& pattern, const std::string& name) const {
        if (pattern == "*") return true;
        try {
            return std::regex_match(
                name, std::regex(pattern, std::regex::ECMAScript | kPolynomialRegex));
        } catch (const std::regex_error&) {
            fail(line, "expected a valid regular expression", pattern);
        }
    }

    Nuisance* find_row(const std::string& name) {
        for (auto& n : card_.nuisances)
            if (n.name == name) return &n;
        return nullptr;
    }

    void remove_if_empty(const std::string& name) {
        auto& rows = card_.nuisances;
        rows.erase(std::remove_if(rows.begin(), rows.end(),
                                  [&](const Nuisance& n) {
                                      return n.name == name &&
                                             n.kind != NuisanceKind::param &&
                                             std::none_of(n.effects.begin(),
                                                          n.effects.end(),
                                                          [](const Effect& e) {
                                                              return e.active;
                                                          });
                                  }),
                   rows.end());
    }

    Nuisance& new_row(const std::string& name, NuisanceKind kind, int line) {
        Nuisance n;
        n.name = name;
        n.kind = kind;
        n.line = line;
        n.effects.assign(card_.columns.size(), Effect{});
        card_.nuisances.push_back(std::move(n));
        return card_.nuisances.back();
    }

    // Group members name nuisances, rateParams or extArgs (dropped rows included).
    void check_groups() const {
        std::set<std::string, std::less<>> known(dropped_.begin(), dropped_.end());
        for (const auto& n : card_.nuisances) known.insert(n.name);
        for (const auto& p : card_.rate_params) known.insert(p.name);
        for (const auto& a : card_.ext_args) known.insert(a.name);
        for (const auto& [group, member, line] : group_lines_)
            if (!known.count(member))
                fail(line, "expected the name of a nuisance in group '" + group + "'",
                     member);
    }

    void apply_edits() {
        for (const auto& r : edits_) edit(r);
    }

    void edit(const Row& r) {
        const auto& t = r.tokens;
        if (t.size() < 3)
            fail(r.line, "expected an action after 'nuisance edit'", end_of_line);
        const std::string& action = t[2];
        auto args = std::vector<std::string>(t.begin() + 3, t.end());
        auto need = [&](std::size_t lo, std::size_t hi, const char* usage) {
            if (args.size() < lo)
                fail(r.line, std::string("expected 'nuisance edit ") + usage + "'",
                     end_of_line);
            if (args.size() > hi)
                fail(r.line, std::string("expected 'nuisance edit ") + usage + "'",
                     args[hi]);
        };
        if (action == "freeze") {
            need(1, 2, "freeze <name> [ifexists]");
            if (args.size() == 2 && args[1] != "ifexists")
                fail(r.line, "expected 'ifexists'", args[1]);
            if (Nuisance* n = find_row(args[0])) {
                n->nofloat = true; // hifit keeps frozen nuisances as [nofloat] rows
            } else if (args.size() < 2) {
                fail(r.line, "expected the name of a nuisance to freeze", args[0]);
            }
        } else if (action == "changepdf") {
            need(2, 2, "changepdf <name> <pdf>");
            Nuisance* n = find_row(args[0]);
            if (!n) fail(r.line, "expected the name of a nuisance", args[0]);
            auto kind = row_kind(args[1]);
            bool ok = kind && *kind != NuisanceKind::gmN &&
                      n->kind != NuisanceKind::gmN && n->kind != NuisanceKind::param &&
                      (is_shape_kind(*kind) == is_shape_kind(n->kind) ||
                       *kind == NuisanceKind::shape_optional ||
                       n->kind == NuisanceKind::shape_optional);
            if (!ok)
                fail(r.line,
                     std::string("expected a pdf compatible with ") +
                         to_string(n->kind) +
                         " (lnN/lnU, or shape/shape?/shapeN/shapeU)",
                     args[1]);
            bool asym = std::any_of(n->effects.begin(), n->effects.end(),
                                    [](const Effect& e) { return e.asymmetric; });
            if (asym && *kind != NuisanceKind::lnN && *kind != NuisanceKind::lnU &&
                *kind != NuisanceKind::shape_optional)
                fail(r.line,
                     "expected lnN, lnU or shape? for a row with 'down/up' values",
                     args[1]);
            n->kind = *kind;
        } else if (action == "rename" && args.size() == 2) {
            Nuisance* n = find_row(args[0]);
            if (!n) fail(r.line, "expected the name of a nuisance to rename", args[0]);
            if (find_row(args[1]))
                fail(r.line, "expected a new name (a nuisance of that name exists)",
                     args[1]);
            n->name = args[1];
            for (auto& g : card_.groups)
                for (auto& m : g.members)
                    if (m == args[0]) m = args[1];
        } else if (action == "rename") {
            need(4, 5, "rename <process> <channel> <old> <new>");
            Nuisance* old = find_row(args[2]);
            if (!old)
                fail(r.line, "expected the name of a nuisance to rename", args[2]);
            if (old->kind == NuisanceKind::param)
                fail(r.line, "expected a nuisance with per-column values", args[2]);
            NuisanceKind kind = old->kind;
            double events = old->gmn_events;
            bool nofloat = old->nofloat;
            Nuisance* dst = find_row(args[3]);
            if (dst && dst->kind != kind)
                fail(r.line,
                     std::string("expected a nuisance of the same pdf (") +
                         to_string(kind) + ")",
                     args[3]);
            if (!dst) {
                new_row(args[3], kind, r.line).gmn_events = events;
                card_.nuisances.back().nofloat = nofloat;
            }
            old = find_row(args[2]);
            dst = find_row(args[3]);
            for (std::size_t i = 0; i < card_.columns.size(); ++i) {
                const auto& c = card_.columns[i];
                if (!selects(r.line, args[0], c.process) ||
                    !selects(r.line, args[1], c.bin))
                    continue;
                if (!old->effects[i].active) continue;
                if (dst->effects[i].active)
                    fail(r.line,
                         "expected '" + args[3] + "' to have no effect on " +
                             c.process + " in " + c.bin,
                         args[3]);
                dst->effects[i] = old->effects[i];
                old->effects[i] = Effect{};
            }
            remove_if_empty(args[2]);
            remove_if_empty(args[3]);
        } else if (action == "drop") {
            need(3, 4, "drop <process> <channel> <name> [ifexists]");
            if (args.size() == 4 && args[3] != "ifexists")
                fail(r.line, "expected 'ifexists'", args[3]);
            Nuisance* n = find_row(args[2]);
            if (!n) {
                if (args.size() == 4) return;
                fail(r.line, "expected the name of a nuisance to drop", args[2]);
            }
            if (n->kind == NuisanceKind::param)
                fail(r.line, "expected a nuisance with per-column values", args[2]);
            for (std::size_t i = 0; i < card_.columns.size(); ++i) {
                const auto& c = card_.columns[i];
                if (selects(r.line, args[0], c.process) &&
                    selects(r.line, args[1], c.bin))
                    n->effects[i] = Effect{};
            }
            remove_if_empty(args[2]);
        } else if (action == "add") {
            need(5, 6, "add <process> <channel> <name> <pdf> <value> [overwrite|addq]");
            auto kind = row_kind(args[3]);
            if (!kind || *kind == NuisanceKind::gmN)
                fail(r.line, "expected lnN, lnU, shape, shape?, shapeN or shapeU",
                     args[3]);
            std::string mode = args.size() == 6 ? args[5] : "";
            if (!mode.empty() && mode != "overwrite" && mode != "addq")
                fail(r.line, "expected 'overwrite' or 'addq'", mode);
            Effect value = entry(r.line, *kind, args[4]);
            Nuisance* n = find_row(args[2]);
            if (n && n->kind != *kind)
                fail(r.line,
                     std::string("expected the pdf of the existing nuisance (") +
                         to_string(n->kind) + ")",
                     args[3]);
            if (!n) n = &new_row(args[2], *kind, r.line);
            for (std::size_t i = 0; i < card_.columns.size(); ++i) {
                const auto& c = card_.columns[i];
                if (!selects(r.line, args[0], c.process) ||
                    !selects(r.line, args[1], c.bin))
                    continue;
                Effect& e = n->effects[i];
                if (e.active && mode.empty())
                    fail(r.line,
                         "expected no existing effect of '" + args[2] + "' on " +
                             c.process + " in " + c.bin +
                             " (add 'overwrite' or 'addq')",
                         args[4]);
                if (e.active && mode == "addq") {
                    if (e.asymmetric || value.asymmetric ||
                        (*kind != NuisanceKind::lnN && *kind != NuisanceKind::lnU))
                        fail(r.line, "expected symmetric lnN/lnU values for 'addq'",
                             args[4]);
                    double a = std::log(e.hi), b = std::log(value.hi);
                    e.hi = std::exp(std::sqrt(a * a + b * b));
                } else {
                    e = value;
                }
            }
            remove_if_empty(args[2]);
        } else if (action == "split" || action == "merge") {
            fail(r.line,
                 "expected a supported edit action ('" + action +
                     "' is not supported by hifit)",
                 action);
        } else {
            fail(r.line,
                 "expected an edit action (add, drop, rename, changepdf, freeze)",
                 action);
        }
    }

    // ---- checks after everything is read --------------------------------------------

    void finish() {
        // members that name dropped rows (no effect anywhere) go with them
        std::set<std::string, std::less<>> names;
        for (const auto& n : card_.nuisances) names.insert(n.name);
        for (const auto& p : card_.rate_params) names.insert(p.name);
        for (const auto& a : card_.ext_args) names.insert(a.name);
        for (auto& g : card_.groups)
            g.members.erase(
                std::remove_if(g.members.begin(), g.members.end(),
                               [&](const std::string& m) { return !names.count(m); }),
                g.members.end());
        if (imax_ && static_cast<std::size_t>(*imax_) != card_.bins.size())
            fail(imax_line_,
                 "expected imax to be " + std::to_string(card_.bins.size()) +
                     " (the number of bins)",
                 std::to_string(*imax_));
        auto nproc = card_.processes().size();
        if (jmax_ && static_cast<std::size_t>(*jmax_) + 1 != nproc)
            fail(jmax_line_,
                 "expected jmax to be " + std::to_string(nproc - 1) +
                     " (the number of processes minus 1)",
                 std::to_string(*jmax_));
        // rows dropped for lack of effect still count (Combine decrements both sides)
        if (kmax_ && edits_.empty() &&
            static_cast<std::size_t>(*kmax_) != counted_rows_)
            fail(kmax_line_,
                 "expected kmax to be " + std::to_string(counted_rows_) +
                     " (the number of nuisance rows)",
                 std::to_string(*kmax_));
    }

    std::string source_;
    std::vector<RawLine> lines_;
    Datacard card_;
    int unterminated_line_ = 0; // the last line, when the text does not end with '\n'
    std::optional<int> imax_, jmax_, kmax_;
    int imax_line_ = 0, jmax_line_ = 0, kmax_line_ = 0;
    std::size_t counted_rows_ = 0;
    std::set<std::string, std::less<>> dropped_;
    std::vector<Row> edits_;
    std::vector<std::tuple<std::string, std::string, int>> group_lines_;
};

} // namespace

Datacard parse_datacard(std::string_view text, const std::string& source) {
    return Parser(text, source).run();
}

Datacard read_datacard(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InvalidSpec(path + ": cannot open the datacard");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return parse_datacard(buffer.str(), path);
}

} // namespace hifit::datacard
