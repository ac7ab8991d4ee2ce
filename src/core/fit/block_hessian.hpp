// The arrowhead structure of -2 ln L for models with many per-bin parameters
// (staterror, shapesys, shapefactor: one parameter per bin). Private to the core.
//
// A per-bin ("local") parameter acts on the cells of one main bin only, and its
// constraint term involves it alone, so the Hessian is
//     H = [ A    B ]   A: dense g x g over the global parameters (POI, normsys,
//     lumi...)
//         [ B^T  D ]   D: block diagonal, one small block per bin (its local params)
//                      B: g x p border (a global and a local parameter of one bin)
// held in O(g^2 + g p + sum of block sizes^2) memory, never as a dense n x n matrix.
#pragma once

#include <hifit/fit/minimizer.hpp>
#include <hifit/likelihood/model.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace hifit {

// Which parameter is global and which is local, and the blocks of the local ones.
struct BlockLayout {
    std::size_t npars = 0;
    std::vector<std::uint32_t> globals;      // parameter indices, increasing
    std::vector<std::uint32_t> locals;       // parameter indices, block by block
    std::vector<std::uint32_t> block_of;     // per local position: its block
    std::vector<std::uint32_t> block_offset; // per block: first local position; +1
    std::vector<std::uint32_t> block_bin;    // per block: its main bin
    // per parameter: its position among the globals (>= 0) or ~(local position)
    std::vector<std::int64_t> slot;
    std::size_t g() const { return globals.size(); }
    std::size_t p() const { return locals.size(); }
};

// The layout of a HistFactory model with at least `min_locals` (>= 1) local
// parameters (those of a per-bin parameter set, other than the POI, whose modifiers
// act on one main bin); nullopt for other models.
std::optional<BlockLayout> block_layout(const Model& model, std::size_t min_locals);

// H in the layout's blocks (-2 ln L units).
struct BlockHessian {
    std::vector<double> a;      // g x g, row-major
    std::vector<double> border; // p columns of g entries: B(:, j) at j * g
    std::vector<double> d;      // per block of size k, k x k row-major, consecutive
    std::vector<std::size_t> d_offset; // per block: its first entry in d
    void reset(const BlockLayout& layout);
    // H(i, j) for parameters i and j (zero outside the structure).
    double at(const BlockLayout& layout, std::size_t i, std::size_t j) const;
};

// -2 ln L, its gradient and its block Hessian for a HistFactory model, evaluated in
// chunks of consecutive main bins: each chunk is a small model of its own (its cells,
// the parameters they touch, renumbered, and the constraint terms of its local
// parameters) evaluated by the ordinary dense kernel; the chunks' dense Hessians of a
// few dozen parameters are scattered into the blocks. Memory and time are linear in
// the number of bins for a fixed number of global parameters.
class BlockEvaluator {
  public:
    // nullptr if the model has no such structure (not HistFactory, or fewer than
    // `min_locals` local parameters).
    static std::unique_ptr<BlockEvaluator> make(const Model& model,
                                                std::size_t min_locals);
    ~BlockEvaluator();

    const BlockLayout& layout() const { return layout_; }
    // `data`: main bins then auxdata, as Likelihood takes it.
    void set_data(std::span<const double> data);
    double value(std::span<const double> pars);
    // grad: npars entries; hess: reset and filled when not null.
    double evaluate(std::span<const double> pars, std::span<double> grad,
                    BlockHessian* hess);

  private:
    struct Chunk;
    BlockEvaluator() = default;
    BlockLayout layout_;
    std::size_t nmain_ = 0;
    std::vector<Chunk> chunks_;
    std::vector<double> buffer_; // gathered parameters / gradient of one chunk
    std::vector<double> hess_;   // dense Hessian of one chunk
};

// The number of local parameters from which a fit takes the block path
// (fit/block_minimizer.cpp; measured, see benchmarks/bench_large_models.py).
inline constexpr std::size_t kBlockMinLocals = 256;
// Up to this many parameters the block path still returns the full covariance.
inline constexpr std::size_t kBlockFullCovariance = 4096;

// The fit on the block path (fit/block_minimizer.cpp), the same bounded trust-region
// Newton as the dense minimizer with its Newton systems solved through the Schur
// complement of the per-bin blocks; nullopt when the model has not at least
// kBlockMinLocals per-bin parameters (the dense path is then as fast or faster).
// kBlockMinLocals per-bin parameters (the dense path is then as fast or faster) or
// when options.path asks for the dense path.
std::optional<FitResult> fit_block(Likelihood& likelihood, const FitOptions& options);

} // namespace hifit
