// Seeded mutation fuzzing of hifit's three readers (pyhf workspaces, patchsets,
// Combine datacards) without libFuzzer: real inputs are mutated deterministically and
// run through targets.cpp. Outcomes: accepted, refused with a hifit::Error (clean), or
// anything else (another exception, a crash, a sanitizer report, a hang): a failure,
// saved as fuzz-failure-<parser>-<n>.bin and reported with a non-zero exit.
//
//   fuzz_parsers [--budget smoke|quick|campaign] [--iterations N] [--seconds S]
//                [--parsers workspace,patchset,datacard] [--seed K] [--root DIR]
//                [--out DIR] [--timeout S] [--keep-going]
//   fuzz_parsers --replay PARSER FILE...
#include "corpus.hpp"
#include "mutate.hpp"
#include "targets.hpp"

#include <hifit/errors.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

extern "C" void __sanitizer_set_death_callback(void (*)()) __attribute__((weak));

namespace fs = std::filesystem;
using namespace hifit::fuzz;
using Clock = std::chrono::steady_clock;

namespace {

// ---- the input being run, saved when the process dies -------------------------------

std::atomic<const std::string*> g_current{nullptr};
char g_crash_path[4096] = "fuzz-crash.bin";

void save_current() { // async-signal-safe
    const std::string* input = g_current.load();
    if (!input) return;
    const int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    std::size_t done = 0;
    while (done < input->size()) {
        const ssize_t n = ::write(fd, input->data() + done, input->size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    const char note[] = "\nfuzz: the input is saved as ";
    [[maybe_unused]] auto r1 = ::write(2, note, sizeof note - 1);
    [[maybe_unused]] auto r2 = ::write(2, g_crash_path, std::strlen(g_crash_path));
    [[maybe_unused]] auto r3 = ::write(2, "\n", 1);
}

void on_fatal_signal(int sig) {
    save_current();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void install_crash_handlers() {
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(save_current);
    // Sanitizers report SEGV themselves (then call the callback above); aborts from
    // library assertions and plain builds' crashes come here, on their own stack.
    static std::vector<char> alt(1 << 16);
    stack_t ss{};
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
    std::vector<int> signals{SIGABRT};
    if (!__sanitizer_set_death_callback)
        signals.insert(signals.end(), {SIGSEGV, SIGBUS, SIGFPE, SIGILL});
    for (int sig : signals) {
        struct sigaction sa{};
        sa.sa_handler = on_fatal_signal;
        sa.sa_flags = SA_ONSTACK;
        sigaction(sig, &sa, nullptr);
    }
}

// A hang is a failure too: a watchdog aborts a run that takes longer than `timeout`.
std::atomic<long long> g_started_ns{0};

void watchdog(double timeout) {
    while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        const long long started = g_started_ns.load();
        if (!started) continue;
        const double running =
            1e-9 *
            static_cast<double>(Clock::now().time_since_epoch().count() - started);
        if (running > timeout) {
            std::fprintf(stderr, "fuzz: FAILURE: one input ran for more than %.0f s\n",
                         timeout);
            std::abort();
        }
    }
}

// ---- options ------------------------------------------------------------------------

struct Options {
    std::vector<Parser> parsers{std::begin(kParsers), std::end(kParsers)};
    std::size_t iterations = 0;
    double seconds = 0;
    std::uint64_t seed = 1;
    std::string root = HIFIT_SOURCE_DIR;
    std::string out = ".";
    double timeout = 60;
    bool keep_going = false;
    std::optional<Parser> replay;
    std::vector<std::string> files;
};

[[noreturn]] void usage(const std::string& problem) {
    std::cerr
        << "fuzz_parsers: " << problem
        << "\nusage: fuzz_parsers [--budget smoke|quick|campaign] [--iterations N] "
           "[--seconds S] [--parsers a,b] [--seed K] [--root DIR] [--out DIR] "
           "[--timeout S] [--keep-going]\n       fuzz_parsers --replay PARSER "
           "FILE...\n";
    std::exit(2);
}

Parser parser_arg(const std::string& name) {
    const auto p = parser_named(name);
    if (!p) usage("unknown parser '" + name + "' (workspace, patchset, datacard)");
    return *p;
}

Options parse_args(int argc, char** argv) {
    Options o;
    const Budget* budget = nullptr;
    std::optional<std::size_t> iterations;
    std::optional<double> seconds;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--budget") {
                const std::string name = value();
                for (const Budget& b : kBudgets)
                    if (b.name == name) budget = &b;
                if (!budget) usage("unknown budget '" + name + "'");
            } else if (a == "--iterations") {
                iterations = std::stoull(value());
            } else if (a == "--seconds") {
                seconds = std::stod(value());
            } else if (a == "--seed") {
                o.seed = std::stoull(value());
            } else if (a == "--timeout") {
                o.timeout = std::stod(value());
            } else if (a == "--root") {
                o.root = value();
            } else if (a == "--out") {
                o.out = value();
            } else if (a == "--keep-going") {
                o.keep_going = true;
            } else if (a == "--parsers") {
                o.parsers.clear();
                std::stringstream list(value());
                for (std::string name; std::getline(list, name, ',');)
                    o.parsers.push_back(parser_arg(name));
            } else if (a == "--replay") {
                o.replay = parser_arg(value());
                o.files.assign(argv + i + 1, argv + argc);
                break;
            } else {
                usage("unknown argument '" + a + "'");
            }
        } catch (const std::logic_error&) {
            usage("bad value for " + a);
        }
    }
    o.iterations = iterations.value_or(budget ? budget->iterations : 1000);
    o.seconds = seconds.value_or(budget ? budget->seconds : 0);
    return o;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::cerr << "fuzz_parsers: cannot read " << path << "\n";
        std::exit(2);
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// ---- running -----------------------------------------------------------------------

struct Tally {
    std::size_t replayed = 0, iterations = 0, accepted = 0, refused = 0, failures = 0;
    double seconds = 0, slowest = 0;
};

// Runs one input; a failure is reported, saved under `out` and counted.
bool run_one(const Targets& targets, Parser parser, const std::string& input,
             const Options& o, Tally& tally, const std::string& label,
             std::string* refusal = nullptr) {
    g_current = &input;
    const auto t0 = Clock::now();
    g_started_ns = t0.time_since_epoch().count();
    std::string failure;
    bool accepted = false;
    try {
        accepted = targets.run(parser, input, refusal);
    } catch (const std::exception& e) {
        failure = std::string("uncaught ") + typeid(e).name() + ": " + e.what();
    } catch (...) {
        failure = "uncaught exception of an unknown type";
    }
    g_started_ns = 0;
    g_current = nullptr;
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    tally.slowest = std::max(tally.slowest, dt);
    if (failure.empty()) {
        ++(accepted ? tally.accepted : tally.refused);
        return accepted;
    }
    ++tally.failures;
    const fs::path saved =
        fs::path(o.out) / ("fuzz-failure-" + std::string(name_of(parser)) + "-" +
                           std::to_string(tally.failures) + ".bin");
    std::ofstream(saved, std::ios::binary) << input;
    std::cerr << "fuzz: FAILURE (" << name_of(parser) << ", " << label
              << "): " << failure.substr(0, 2000) << "\nfuzz: the input is saved as "
              << saved << "\n";
    return false;
}

Tally fuzz(const Targets& targets, Parser parser, const Options& o) {
    Tally tally;
    const auto t0 = Clock::now();
    std::snprintf(g_crash_path, sizeof g_crash_path, "%s/fuzz-crash-%s.bin",
                  o.out.c_str(), name_of(parser));
    // The pool: seeds, regressions, then mutants that were accepted (they keep
    // mutations that got past the parser, so later ones build on them).
    std::vector<std::string> pool;
    for (const Seed& s : kSeeds)
        if (s.parser == parser) pool.push_back(read_file(fs::path(o.root) / s.path));
    if (parser ==
        Parser::patchset) { // each patch of a patchset alone, as --patch reads
        for (std::size_t i = 0, n = pool.size(); i < n; ++i) {
            try {
                const auto ps = hifit::PatchSet::from_json(pool[i]);
                for (const auto& name : ps.names()) pool.push_back(ps.patch_json(name));
            } catch (const hifit::Error&) {
            }
        }
    }
    const fs::path regressions = fs::path(o.root) / kRegressions / name_of(parser);
    if (fs::is_directory(regressions)) {
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(regressions))
            if (!f.path().filename().string().starts_with("."))
                files.push_back(f.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) pool.push_back(read_file(f));
    }
    for (const std::string& input : pool) {
        ++tally.replayed;
        run_one(targets, parser, input, o, tally, "seed or regression");
    }
    const std::size_t fixed = pool.size();
    constexpr std::size_t kMaxPool = 256;
    Rng rng(o.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(parser));
    auto elapsed = [&] {
        return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    while (tally.iterations < o.iterations &&
           (o.seconds <= 0 || elapsed() < o.seconds) &&
           (o.keep_going || tally.failures == 0)) {
        const std::string& base = pool[rng.below(pool.size())];
        const std::string& other = pool[rng.below(pool.size())];
        const std::string input =
            mutate(base, other,
                   parser == Parser::datacard ? Format::datacard : Format::json, rng);
        ++tally.iterations;
        if (run_one(targets, parser, input, o, tally,
                    "iteration " + std::to_string(tally.iterations)) &&
            input.size() < (std::size_t{1} << 20)) {
            if (pool.size() < fixed + kMaxPool)
                pool.push_back(input);
            else
                pool[fixed + rng.below(kMaxPool)] = input;
        }
    }
    tally.seconds = elapsed();
    return tally;
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    install_crash_handlers();
    std::thread(watchdog, o.timeout).detach();
    const Targets targets(read_file(fs::path(o.root) / kPatchBackground));

    if (o.replay) {
        Tally tally;
        for (const auto& file : o.files) {
            const std::string input = read_file(file);
            std::snprintf(g_crash_path, sizeof g_crash_path, "%s/fuzz-crash-replay.bin",
                          o.out.c_str());
            std::string refusal;
            const std::size_t failures = tally.failures;
            if (run_one(targets, *o.replay, input, o, tally, file, &refusal))
                std::cout << file << ": accepted\n";
            else if (tally.failures == failures)
                std::cout << file << ": refused: " << refusal << "\n";
        }
        return tally.failures ? 1 : 0;
    }

    std::size_t failures = 0;
    char limit[64] = "no time limit";
    if (o.seconds > 0) std::snprintf(limit, sizeof limit, "%.0f s at most", o.seconds);
    std::printf("fuzz: seed %llu, per parser: %s iterations, %s\n",
                static_cast<unsigned long long>(o.seed),
                o.iterations == static_cast<std::size_t>(-1)
                    ? "unbounded"
                    : std::to_string(o.iterations).c_str(),
                limit);
    for (Parser p : o.parsers) {
        const Tally t = fuzz(targets, p, o);
        failures += t.failures;
        std::printf(
            "fuzz: %-9s %8zu iterations (+%zu seeds/regressions) in %6.1f s: "
            "%zu accepted, %zu clean errors, %zu failures; slowest input %.2f s\n",
            name_of(p), t.iterations, t.replayed, t.seconds, t.accepted, t.refused,
            t.failures, t.slowest);
        std::fflush(stdout);
    }
    return failures ? 1 : 0;
}
