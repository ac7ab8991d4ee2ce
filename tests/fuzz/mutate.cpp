#include "mutate.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <optional>
#include <vector>

namespace hifit::fuzz {

namespace {

using Words = std::initializer_list<std::string_view>;

std::string_view pick(Rng& rng, Words words) {
    return *(words.begin() + rng.below(words.size()));
}

// Span lengths: mostly short, sometimes up to the whole input.
std::size_t span_length(Rng& rng, std::size_t available) {
    if (available == 0) return 0;
    const std::size_t n = rng.chance(80) ? 1 + rng.below(16) : 1 + rng.below(available);
    return std::min(n, available);
}

// ---- byte level -------------------------------------------------------------------

constexpr std::string_view kBytes{"\0\xff\"[]{},:\n\r\t -+/#*\x80\xc3\xe2\\.0e$@()",
                                  29};

char some_byte(Rng& rng) {
    return rng.chance(50) ? kBytes[rng.below(kBytes.size())]
                          : static_cast<char>(rng.below(256));
}

void byte_mutation(std::string& s, std::string_view other, Rng& rng) {
    const std::size_t at = rng.below(s.size() + 1);
    switch (rng.below(8)) {
    case 0: // flip a bit
        if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1u << rng.below(8));
        break;
    case 1: // overwrite a byte
        if (!s.empty()) s[rng.below(s.size())] = some_byte(rng);
        break;
    case 2: { // insert a few bytes
        std::string bytes;
        for (std::size_t n = 1 + rng.below(8); n > 0; --n) bytes += some_byte(rng);
        s.insert(at, bytes);
        break;
    }
    case 3: // erase a span
        s.erase(at, span_length(rng, s.size() - at));
        break;
    case 4: { // duplicate a span elsewhere
        const std::string span = s.substr(at, span_length(rng, s.size() - at));
        s.insert(rng.below(s.size() + 1), span);
        break;
    }
    case 5: // truncate
        s.resize(rng.below(s.size() + 1));
        break;
    case 6: { // crossover: our head, the other input's tail
        const std::size_t from = rng.below(other.size() + 1);
        s = s.substr(0, at) + std::string(other.substr(from));
        break;
    }
    default: { // a span of the other input inserted
        const std::size_t from = rng.below(other.size() + 1);
        s.insert(at, other.substr(from, span_length(rng, other.size() - from)));
        break;
    }
    }
}

// ---- JSON ---------------------------------------------------------------------------

struct Token {
    std::size_t begin, end;
    char kind; // 's' string, 'n' number, 'l' literal, else the punctuation character
};

std::vector<Token> json_tokens(std::string_view s) {
    std::vector<Token> out;
    std::size_t i = 0;
    auto is = [&](std::size_t j, std::string_view set) {
        return j < s.size() && set.find(s[j]) != std::string_view::npos;
    };
    while (i < s.size()) {
        if (is(i, " \t\r\n")) {
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        char kind = s[i];
        if (s[i] == '"') {
            while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
            j = std::min(j + 1, s.size());
            kind = 's';
        } else if (is(i, "-0123456789")) {
            while (is(j, "0123456789+-.eE")) ++j;
            kind = 'n';
        } else if (std::isalpha(static_cast<unsigned char>(s[i]))) {
            while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
            kind = 'l';
        }
        out.push_back({i, j, kind});
        i = j;
    }
    return out;
}

// Index of the token closing the bracket opened at tokens[k], or tokens.size().
std::size_t matching(const std::vector<Token>& t, std::size_t k) {
    int depth = 0;
    for (std::size_t i = k; i < t.size(); ++i) {
        depth += t[i].kind == '{' || t[i].kind == '[';
        depth -= t[i].kind == '}' || t[i].kind == ']';
        if (depth == 0) return i;
    }
    return t.size();
}

// A random token index of one of `kinds`, or nothing.
std::optional<std::size_t> token_of(const std::vector<Token>& t, std::string_view kinds,
                                    Rng& rng) {
    std::vector<std::size_t> found;
    for (std::size_t i = 0; i < t.size(); ++i)
        if (kinds.find(t[i].kind) != std::string_view::npos) found.push_back(i);
    if (found.empty()) return std::nullopt;
    return found[rng.below(found.size())];
}

// [begin, end) of a random value: a scalar token or a whole object/array.
std::optional<std::pair<std::size_t, std::size_t>> value_span(std::string_view s,
                                                              Rng& rng) {
    const auto t = json_tokens(s);
    const auto k = token_of(t, "snl{[", rng);
    if (!k) return std::nullopt;
    if (t[*k].kind != '{' && t[*k].kind != '[')
        return std::pair{t[*k].begin, t[*k].end};
    const std::size_t close = matching(t, *k);
    return std::pair{t[*k].begin, close < t.size() ? t[close].end : s.size()};
}

std::string long_digits(Rng& rng) {
    std::string d(1 + rng.below(500), '9');
    d[0] = static_cast<char>('1' + rng.below(9));
    return d;
}

std::string some_number(Rng& rng) {
    if (rng.chance(10)) return long_digits(rng);
    return std::string(pick(rng, {"1e999",
                                  "-1e999",
                                  "1e308",
                                  "-1e308",
                                  "1.7976931348623157e308",
                                  "4.9e-324",
                                  "1e-320",
                                  "-0",
                                  "0",
                                  "0.0",
                                  "-1",
                                  "1",
                                  "2",
                                  "0.5",
                                  "-0.5",
                                  "NaN",
                                  "Infinity",
                                  "-Infinity",
                                  "18446744073709551616",
                                  "18446744073709551615",
                                  "9223372036854775807",
                                  "-9223372036854775808",
                                  "-9223372036854775809",
                                  "4294967296",
                                  "1e19",
                                  "100000000",
                                  "1e",
                                  "01",
                                  ".5",
                                  "1.",
                                  "+1",
                                  "0x10",
                                  "-",
                                  "1e400",
                                  "3",
                                  "1000000",
                                  "-1000000"}));
}

std::string some_string(Rng& rng) {
    switch (rng.below(4)) {
    case 0:
        return std::string(1 + rng.below(3), '"'); // broken quoting
    case 1:
        return '"' + std::string(rng.chance(50) ? 1000 : 100000, 'a') + '"';
    default:
        return '"' +
               std::string(pick(rng, {"",
                                      "\xff\xfe",
                                      "\xc3",
                                      "\xed\xa0\x80",
                                      "\\u0000",
                                      "\\ud800",
                                      "\\u00e9",
                                      "\\",
                                      "name",
                                      "data",
                                      "modifiers",
                                      "samples",
                                      "channels",
                                      "observations",
                                      "measurements",
                                      "version",
                                      "1.0.0",
                                      "config",
                                      "poi",
                                      "parameters",
                                      "bounds",
                                      "inits",
                                      "auxdata",
                                      "sigmas",
                                      "factors",
                                      "fixed",
                                      "hi",
                                      "lo",
                                      "hi_data",
                                      "lo_data",
                                      "type",
                                      "normsys",
                                      "histosys",
                                      "shapesys",
                                      "staterror",
                                      "lumi",
                                      "normfactor",
                                      "shapefactor",
                                      "patches",
                                      "metadata",
                                      "patch",
                                      "op",
                                      "path",
                                      "value",
                                      "from",
                                      "labels",
                                      "values",
                                      "description",
                                      "digests",
                                      "references",
                                      "add",
                                      "remove",
                                      "replace",
                                      "move",
                                      "copy",
                                      "test",
                                      "/",
                                      "/channels/-",
                                      "/channels/0",
                                      "/channels/0/samples/-",
                                      "/channels/0/samples/0/modifiers/0",
                                      "/channels/0/samples/99999999999999999999",
                                      "/observations/0/data/0",
                                      "/measurements/0/config/parameters/0",
                                      "/channels/0/samples/0/data",
                                      "/channels/~1/~0",
                                      "mu",
                                      "SigXsecOverSM"})) +
               '"';
    }
}

std::string some_value(Rng& rng) {
    switch (rng.below(4)) {
    case 0:
        return some_number(rng);
    case 1:
        return some_string(rng);
    default:
        return std::string(
            pick(rng, {"null", "true", "false", "[]", "{}", "[1]", "[null]", "[[]]",
                       "{\"name\": \"x\"}", "[-1, 2]", "{\"hi\": 1, \"lo\": 1}",
                       "[1e999]", "nul", "["}));
    }
}

void json_mutation(std::string& s, std::string_view other, Rng& rng) {
    const auto t = json_tokens(s);
    auto replace_token = [&](std::string_view kinds, const std::string& with) {
        if (const auto k = token_of(t, kinds, rng))
            s.replace(t[*k].begin, t[*k].end - t[*k].begin, with);
    };
    switch (rng.below(9)) {
    case 0:
        replace_token("n", some_number(rng));
        break;
    case 1:
        replace_token("s", some_string(rng));
        break;
    case 2:
        replace_token("snl", some_value(rng));
        break;
    case 3: { // a value or subtree removed (with a neighbouring comma when there is
              // one)
        const auto v = value_span(s, rng);
        if (!v) break;
        auto [b, e] = *v;
        if (e < s.size() && s[e] == ',') ++e;
        s.erase(b, e - b);
        break;
    }
    case 4: { // a value or subtree duplicated (array items, or duplicate keys)
        const auto v = value_span(s, rng);
        if (v) s.insert(v->second, "," + s.substr(v->first, v->second - v->first));
        break;
    }
    case 5: { // deep nesting around a value, sometimes left unbalanced
        const auto v = value_span(s, rng);
        if (!v) break;
        constexpr std::size_t depths[] = {2, 64, 1000, 100000};
        const std::size_t depth = depths[rng.below(4)];
        const char open = rng.chance(50) ? '[' : '{';
        std::string opening, closing;
        for (std::size_t d = 0; d < depth; ++d) {
            opening += open == '[' ? "[" : "{\"a\":";
            closing += open == '[' ? ']' : '}';
        }
        if (rng.chance(10)) closing.resize(rng.below(closing.size()));
        s = s.substr(0, v->first) + opening + s.substr(v->first, v->second - v->first) +
            closing + s.substr(v->second);
        break;
    }
    case 6: { // a subtree replaced by one of the other input
        const auto v = value_span(s, rng);
        const auto w = value_span(other, rng);
        if (v && w)
            s.replace(v->first, v->second - v->first,
                      other.substr(w->first, w->second - w->first));
        break;
    }
    case 7: { // an array's items reversed or cut to one
        const auto k = token_of(t, "[", rng);
        if (!k) break;
        const std::size_t close = matching(t, *k);
        if (close >= t.size()) break;
        s.erase(t[*k].end, t[close].begin - t[*k].end);
        break;
    }
    default: // truncated inside a token
        if (const auto k = token_of(t, "snl", rng))
            s.resize(t[*k].begin + rng.below(t[*k].end - t[*k].begin + 1));
        break;
    }
}

// ---- datacards ----------------------------------------------------------------------

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos - start));
        if (pos == std::string_view::npos) return out;
        start = pos + 1;
    }
}

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    for (auto& w : split(line, ' '))
        if (!w.empty() && w != "\t") out.push_back(w);
    return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

std::string card_number(Rng& rng) {
    return std::string(
        pick(rng, {"nan",   "inf",         "-inf",        "-1",         "0",
                   "1",     "1e999",       "1e-320",      "-0",         "+",
                   "+-1",   "1/",          "/1",          "0/0",        "2/0",
                   "0.5/2", "1/1/1",       "-",           "--",         "---",
                   "1e308", "1e308/1e308", "99999999999", "2147483648", "-2147483649",
                   "0x10",  "1,2",         "[0,1]",       "[1,0]",      "[nan,1]",
                   "[0,]",  "[",           "]",           "-0.5",       "1e",
                   "1.1",   "0.9/1.1",     "-1/1",        "*"}));
}

std::string card_word(Rng& rng) {
    return std::string(pick(rng, {"shapes",
                                  "*",
                                  "FAKE",
                                  "rateParam",
                                  "extArg",
                                  "autoMCStats",
                                  "group",
                                  "=",
                                  "+=",
                                  "nuisance",
                                  "edit",
                                  "add",
                                  "drop",
                                  "rename",
                                  "changepdf",
                                  "freeze",
                                  "split",
                                  "lnN",
                                  "lnU",
                                  "gmN",
                                  "shape",
                                  "shape?",
                                  "shapeN",
                                  "shapeU",
                                  "param",
                                  "[0,1]",
                                  "(@0*@1)",
                                  "(@0)",
                                  "(@9999999)",
                                  "(@)",
                                  "(",
                                  "@0",
                                  "$PROCESS",
                                  "$CHANNEL",
                                  "$SYSTEMATIC",
                                  "$MASS",
                                  "$PROCESS_$SYSTEMATIC",
                                  "imax",
                                  "jmax",
                                  "kmax",
                                  "bin",
                                  "process",
                                  "rate",
                                  "observation",
                                  "ifexists",
                                  "overwrite",
                                  "addq",
                                  ".*",
                                  "(a|aa)*b",
                                  "[[:alpha:]",
                                  "\\",
                                  "[nofloat]",
                                  "x[nofloat]",
                                  "1abc",
                                  "#",
                                  "a:b",
                                  "f.root:w",
                                  "data_obs",
                                  "-",
                                  "0",
                                  "-1",
                                  "1",
                                  "2"}));
}

// A directive line made of the card's own names, so that it often refers to real
// bins, processes and nuisances.
std::string directive_line(const std::vector<std::string>& names, Rng& rng) {
    auto name = [&] {
        return names.empty() ? std::string("x") : names[rng.below(names.size())];
    };
    auto num = [&] {
        return rng.chance(70) ? std::to_string(rng.below(3)) + ".1" : card_number(rng);
    };
    auto pat = [&] {
        return rng.chance(60)
                   ? name()
                   : std::string(pick(rng, {"*", ".*", "sig.*", "(a|aa)*b", "["}));
    };
    switch (rng.below(10)) {
    case 0:
        return name() + " param " + num() + " " + num() +
               (rng.chance(50) ? " [-3,3]" : "");
    case 1:
        return name() + " rateParam " + pat() + " " + pat() + " " + num() +
               (rng.chance(50) ? " [0,5]" : "");
    case 2:
        return name() + " rateParam " + pat() + " " + pat() + " (@0*@1) " + name() +
               "," + name();
    case 3:
        return name() + " extArg " + num() + (rng.chance(50) ? " [0,2]" : "");
    case 4:
        return pat() + " autoMCStats " + num() + " " + num() + " " + num();
    case 5:
        return name() + " group " + (rng.chance(70) ? "= " : "+= ") + name() + " " +
               name();
    case 6:
        return "nuisance edit " +
               std::string(
                   pick(rng, {"add", "drop", "rename", "freeze", "changepdf"})) +
               " " + pat() + " " + pat() + " " + name() + " " +
               std::string(
                   pick(rng, {"lnN", "shape", "shape?", "lnU", "ifexists", "x"})) +
               " " + num() + (rng.chance(30) ? " addq" : "");
    case 7:
        return "shapes " + pat() + " " + pat() + " " + name() + ".root " +
               "$CHANNEL/$PROCESS $CHANNEL/$PROCESS_$SYSTEMATIC";
    default: {
        std::string line =
            name() + " " +
            std::string(pick(rng, {"lnN", "gmN 10", "shape?", "shape", "lnU"}));
        for (std::size_t n = 1 + rng.below(8); n > 0; --n) line += " " + num();
        return line;
    }
    }
}

void card_mutation(std::string& s, std::string_view other, Rng& rng) {
    auto lines = split(s, '\n');
    if (lines.empty()) return;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> names;
    for (const auto& l : lines) {
        rows.push_back(words(l));
        for (const auto& w : rows.back()) names.push_back(w);
    }
    const std::size_t li = rng.below(lines.size());
    auto& row = rows[li];
    auto rebuild = [&](std::size_t i) { lines[i] = join(rows[i], " "); };
    switch (rng.below(12)) {
    case 0:
    case 1: { // a column dropped or duplicated on every row long enough
        std::size_t widest = 0;
        for (const auto& r : rows) widest = std::max(widest, r.size());
        if (widest < 2) break;
        const std::size_t k = 1 + rng.below(widest - 1);
        const bool drop = rng.chance(50);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (rows[i].size() <= k || rng.chance(10)) continue;
            if (drop)
                rows[i].erase(rows[i].begin() + static_cast<std::ptrdiff_t>(k));
            else
                rows[i].insert(rows[i].begin() + static_cast<std::ptrdiff_t>(k),
                               rows[i][k]);
            rebuild(i);
        }
        break;
    }
    case 2: // a row cut short
        if (!row.empty()) {
            row.resize(rng.below(row.size()));
            rebuild(li);
        }
        break;
    case 3: // a line removed
        lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(li));
        break;
    case 4: // a line duplicated somewhere
        lines.insert(lines.begin() +
                         static_cast<std::ptrdiff_t>(rng.below(lines.size() + 1)),
                     lines[li]);
        break;
    case 5: // two lines swapped
        std::swap(lines[li], lines[rng.below(lines.size())]);
        break;
    case 6: // a garbage number
        if (!row.empty()) {
            row[rng.below(row.size())] = card_number(rng);
            rebuild(li);
        }
        break;
    case 7: // a keyword or pattern where a value was
        if (!row.empty()) {
            row[rng.below(row.size())] = card_word(rng);
            rebuild(li);
        }
        break;
    case 8: // a very long token
        if (!row.empty()) {
            auto& w = row[rng.below(row.size())];
            const std::size_t target = std::size_t{1} << (8 + rng.below(10));
            while (!w.empty() && w.size() < target) w += w;
            rebuild(li);
        }
        break;
    case 9: // a directive line of the card's own names
        lines.insert(lines.begin() +
                         static_cast<std::ptrdiff_t>(rng.below(lines.size() + 1)),
                     directive_line(names, rng));
        break;
    case 10: { // a line of the other card
        const auto theirs = split(other, '\n');
        lines.insert(lines.begin() +
                         static_cast<std::ptrdiff_t>(rng.below(lines.size() + 1)),
                     theirs[rng.below(theirs.size())]);
        break;
    }
    default: // commented out, or a separator inserted
        lines[li] =
            std::string(pick(rng, {"#", "--", "-", "# ", "\t", "\r"})) + lines[li];
        break;
    }
    s = join(lines, "\n");
}

} // namespace

std::string mutate(std::string_view input, std::string_view other, Format format,
                   Rng& rng) {
    std::string s(input);
    const std::size_t count = rng.chance(10) ? 1 + rng.below(8) : 1 + rng.below(3);
    for (std::size_t i = 0; i < count; ++i) {
        if (rng.chance(30)) {
            byte_mutation(s, other, rng);
        } else if (format == Format::json) {
            json_mutation(s, other, rng);
        } else {
            card_mutation(s, other, rng);
        }
        // keep mutants bounded: a few MB at most
        if (s.size() > (std::size_t{4} << 20)) s.resize(std::size_t{4} << 20);
    }
    return s;
}

} // namespace hifit::fuzz
