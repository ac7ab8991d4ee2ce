// The refusal of models whose dense fit matrices cannot be held in memory: a clear
// input error instead of std::bad_alloc (or swapping) in the middle of a fit.
#include <hifit/errors.hpp>
#include <hifit/likelihood/model.hpp>

#include "fit/block_hessian.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

namespace hifit {

namespace {

struct Limit {
    double bytes;
    std::string what;
};

std::string gigabytes(double bytes) {
    std::ostringstream out;
    out.precision(bytes < 1e10 ? 2 : 3);
    out << bytes / 1e9 << " GB";
    return out.str();
}

Limit memory_limit() {
    if (const char* env = std::getenv("HIFIT_MEMORY_LIMIT")) {
        double v = 0.0;
        const char* end = env + std::strlen(env);
        auto [ptr, ec] = std::from_chars(env, end, v);
        if (ec != std::errc() || ptr != end || !(v > 0.0))
            throw InvalidArgument("HIFIT_MEMORY_LIMIT: expected a number of bytes > 0, "
                                  "found '" +
                                  std::string(env) + "'");
        return {v, "the limit HIFIT_MEMORY_LIMIT (" + gigabytes(v) + ")"};
    }
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return {0.0, ""}; // unknown: no check
    const double bytes = static_cast<double>(pages) * static_cast<double>(page);
    return {bytes, "this machine's memory (" + gigabytes(bytes) + ")"};
}

} // namespace

void check_dense_memory(const Model& model, int square_matrices) {
    const double n = static_cast<double>(model.npars());
    const double jacobian = static_cast<double>(model.nmain()) * n * sizeof(double);
    const double square = n * n * sizeof(double);
    const double total = jacobian + square_matrices * square;
    const Limit limit = memory_limit();
    if (limit.bytes <= 0.0 || total <= limit.bytes) return;
    // Models with many per-bin parameters are fitted in blocks (fit/block_hessian.hpp)
    // and hold no dense Jacobian: the global block, the border, the factors and
    // copies of it, and the chunks' small models, linear in the number of bins.
    if (const auto layout = block_layout(model, kBlockMinLocals)) {
        const double g = static_cast<double>(layout->g());
        const double p = static_cast<double>(layout->p());
        const double block = (4.0 * g * p + 4.0 * g * g +
                              300.0 * (n + static_cast<double>(model.nmain()))) *
                             sizeof(double);
        if (block <= limit.bytes) return;
        throw InvalidModel("the model has " + std::to_string(model.npars()) +
                           " parameters (" + std::to_string(layout->p()) +
                           " per-bin) and " + std::to_string(model.nmain()) +
                           " bins; a fit in blocks needs about " + gigabytes(block) +
                           ", more than " + limit.what +
                           "; reduce the number of parameters");
    }
    const std::string pars = std::to_string(model.npars());
    const std::string bins = std::to_string(model.nmain());
    const std::string what = square_matrices == 0
                                 ? "its likelihood needs a dense " + bins + "x" + pars +
                                       " Jacobian (" + gigabytes(jacobian) + ")"
                                 : "a fit needs a dense " + pars + "x" + pars +
                                       " Hessian (" + gigabytes(square) + ", about " +
                                       gigabytes(total) +
                                       " with the matrices derived from it and the " +
                                       bins + "x" + pars + " Jacobian)";
    throw InvalidModel("the model has " + pars + " parameters and " + bins + " bins; " +
                       what + ", more than " + limit.what +
                       "; reduce the number of parameters (e.g. merge bins or drop "
                       "per-bin modifiers such as staterror)");
}

} // namespace hifit
