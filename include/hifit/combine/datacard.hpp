// CMS Combine datacards as plain data: reading, writing, combining, and the templates
// (TH1 contents) a card refers to. The templates themselves are read elsewhere (uproot
// in the Python layer) and handed in as arrays.
#pragma once

#include <hifit/histfactory/spec.hpp>
#include <hifit/likelihood/model.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hifit::datacard {

// `shapes <process> <channel> <file> <nominal> [<systematic>]`; file "FAKE" for a
// counting channel in a shape card.
struct ShapeLine {
    std::string process; // name or "*"
    std::string channel; // name or "*"
    std::string file;
    std::string nominal;    // object name pattern ($PROCESS, $CHANNEL, $MASS, ...)
    std::string systematic; // may be empty; uses $SYSTEMATIC
    int line = 0;
};

// One (bin, process) column of the expectation block.
struct Column {
    std::string bin;
    std::string process;
    int process_id = 0; // <= 0: signal
    double rate = 0.0;  // -1: the integral of the nominal template
};

enum class NuisanceKind {
    lnN,
    lnU,
    gmN,
    shape,
    shape_optional, // shape?
    shapeN,
    shapeU,
    param,
};

const char* to_string(NuisanceKind kind);

// The entry of one nuisance row in one column.
struct Effect {
    bool active = false;     // false for "-" and 0
    bool asymmetric = false; // "down/up"
    double lo = 0.0;         // lnN/lnU: kappa at theta = -1 (asymmetric only)
    double hi = 0.0;         // lnN/lnU: kappa (at theta = +1); shape: scale; gmN: alpha
};

struct Nuisance {
    std::string name;
    NuisanceKind kind = NuisanceKind::lnN;
    std::vector<Effect> effects; // one per column (empty for param)
    double gmn_events = 0.0;     // gmN N
    // param: Gaussian mean and widths (sigma_lo == sigma_hi when symmetric)
    double mean = 0.0, sigma_lo = 0.0, sigma_hi = 0.0;
    std::optional<std::pair<double, double>> range; // param [lo,hi]
    bool nofloat = false;                           // name[nofloat]
    int line = 0;
};

// `name rateParam bin process init [lo,hi]` or `name rateParam bin process (expr) a,b`.
struct RateParam {
    std::string name;
    std::string bin;     // name or glob
    std::string process; // name or glob
    double init = 1.0;
    std::optional<std::pair<double, double>> range;
    std::string formula;           // empty for a plain parameter
    std::vector<std::string> args; // formula arguments @0, @1, ...
    int line = 0;
};

// `name extArg init [lo,hi]` (workspace imports are not supported).
struct ExtArg {
    std::string name;
    double init = 0.0;
    std::optional<std::pair<double, double>> range;
    int line = 0;
};

// `bin autoMCStats threshold [include_signal] [hist_mode]`; bin may be "*" or a glob.
struct AutoMCStats {
    std::string bin;
    double threshold = 0.0;
    bool include_signal = false;
    int hist_mode = 1;
    int line = 0;
};

struct Group {
    std::string name;
    std::vector<std::string> members;
};

struct Datacard {
    std::string source; // file name used in error messages; relative shapes paths
                        // are resolved against its directory by the reader
    std::vector<std::string> bins;
    std::vector<double> observation; // per bin; empty when the card has none
    std::vector<ShapeLine> shapes;
    std::vector<Column> columns;
    std::vector<Nuisance> nuisances; // rows in card order, params included
    std::vector<RateParam> rate_params;
    std::vector<ExtArg> ext_args;
    std::vector<AutoMCStats> auto_mc_stats;
    std::vector<Group> groups;

    bool has_shapes() const { return !shapes.empty(); }
    std::vector<std::string> processes() const; // distinct, in column order
    bool is_signal(std::string_view process) const;
};

// Parses card text; errors (InvalidSpec) read "source:line: <what>, found '<token>'".
Datacard parse_datacard(std::string_view text, const std::string& source = "<string>");
// Reads and parses a file.
Datacard read_datacard(const std::string& path);

// Writes card text with aligned, always-separated columns. `comment` lines (if any) go
// first, prefixed by "# ".
std::string write_datacard(const Datacard& card, std::string_view comment = {});

// combineCards.py: one card from labelled cards. A single-bin card's bin is renamed to
// its label, a multi-bin card's bins get the prefix "label_"; label "." keeps names.
// Shapes file names are taken as they are (callers make them relative to the output).
Datacard combine_cards(const std::vector<std::pair<std::string, Datacard>>& cards);

// ---- templates --------------------------------------------------------------------

// One TH1: in-range contents and sum of squared weights (same length), optional edges.
struct Histogram {
    std::vector<double> contents;
    std::vector<double> sumw2;
    std::vector<double> edges; // nbins + 1 or empty
};

// Which object of which file holds the template of (channel, process, variation):
// variation is "" for the nominal, "<nuisance>Up" / "<nuisance>Down" otherwise; process
// "data_obs" is the observed data.
struct ShapeRequest {
    std::string channel;
    std::string process;
    std::string variation;
    std::string file;     // as written in the card ("FAKE": no template)
    std::string object;   // patterns substituted
    bool required = true; // false for shape? entries (fall back to lnN when absent)
    int line = 0;         // the shapes line
};

struct ShapeRequestOptions {
    double mass = 120.0;                         // $MASS
    std::map<std::string, std::string> keywords; // $WORD -> value
};

// Every template the card needs, from its shapes lines (Combine's lookup order).
std::vector<ShapeRequest> shape_requests(const Datacard& card,
                                         const ShapeRequestOptions& options = {});

struct TemplateKey {
    std::string channel, process, variation;
    auto operator<=>(const TemplateKey&) const = default;
};
using Templates = std::map<TemplateKey, Histogram>;

// ---- Combine's model ----------------------------------------------------------------

struct CombineOptions {
    // Physics model: each (process glob, POI name) maps signal processes to a POI (the
    // first match wins; "BIN/PROCESS" globs select one channel's); empty: one POI "r"
    // scaling every signal process.
    std::vector<std::pair<std::string, std::string>> poi_map;
    std::pair<double, double> poi_range{0.0, 20.0};
    std::vector<std::string> masked_channels; // Poisson terms dropped, constraints kept
    bool check_norm = true;                   // rate vs template integral (1 %)
};

struct CombineModel {
    Model model;
    std::vector<double> data;       // main ++ auxdata
    std::vector<std::string> notes; // what was adjusted while building (dropped rows)
};

// Builds Combine's binned model (text2workspace semantics) from a card and its
// templates.
CombineModel build_model(const Datacard& card, const Templates& templates,
                         const CombineOptions& options = {});

// ---- conversion ---------------------------------------------------------------------

struct ToWorkspace {
    WorkspaceSpec spec;
    std::vector<std::string> inexact; // what could not be kept exactly, one line each
};

// Datacard -> pyhf workspace (HistFactory approximations of Combine's terms).
ToWorkspace to_workspace(const Datacard& card, const Templates& templates,
                         const CombineOptions& options = {});

struct ToDatacard {
    Datacard card;
    Templates templates; // object names "<channel>/<process>[_<variation>]"
    std::vector<std::string> inexact;
};

// pyhf workspace -> datacard + templates (shapes file written by the caller).
ToDatacard to_datacard(const WorkspaceSpec& spec, const std::string& shapes_file,
                       const std::string& measurement = {});

} // namespace hifit::datacard
