// Newton systems H x = r with the block Hessian, through the Schur complement of its
// per-bin blocks: S = A - B D^-1 B^T (g x g), then
//     x_G = S^-1 (r_G - B D^-1 r_P),   x_P = D^-1 (r_P - B^T x_G).
// H is positive definite iff every block of D and S are (Haynsworth inertia), which
// the factorization reports. Parameters outside the active set are left out (their
// rows and columns replaced by the identity, their solution 0). Private to the core.
#pragma once

#include "fit/block_hessian.hpp"

#include <Eigen/Dense>

#include <span>
#include <vector>

namespace hifit {

class BlockSchur {
  public:
    explicit BlockSchur(const BlockLayout& layout) : lay_(layout) {}
    // Factorizes H + damping diag(scale) on the active set; false if that is not
    // positive definite.
    bool factor(const BlockHessian& h, const std::vector<char>& active, double damping,
                std::span<const double> scale);
    // x = H^-1 r on the active set (npars entries each).
    void solve(std::span<const double> r, std::span<double> x) const;
    // (H^-1)_ii of an active parameter.
    double inverse_diagonal(std::size_t i) const;
    // (H^-1) on the active global parameters, g x g (zero rows for inactive ones).
    Eigen::MatrixXd global_inverse() const;

  private:
    const BlockLayout& lay_;
    std::vector<char> active_;
    std::vector<double> dinv_; // inverse of each block, laid out as BlockHessian::d
    std::vector<double> u_;    // U = B D^-1, laid out as BlockHessian::border
    std::vector<double> b_;    // B with inactive rows and columns zeroed
    std::vector<std::size_t> d_offset_;
    Eigen::LLT<Eigen::MatrixXd> s_;
};

// y = H v (npars entries each).
void block_multiply(const BlockLayout& layout, const BlockHessian& h,
                    std::span<const double> v, std::span<double> y);

} // namespace hifit
