// The Schur-complement solver of the block Hessian (see block_schur.hpp).
#include "fit/block_schur.hpp"

#include <cmath>

namespace hifit {

namespace {

using Mat = Eigen::MatrixXd;

// Row-major block k x k at d[offset ...] as an Eigen matrix.
using BlockMap =
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
using ConstBlockMap = Eigen::Map<
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

} // namespace

bool BlockSchur::factor(const BlockHessian& h, const std::vector<char>& active,
                        double damping, std::span<const double> scale) {
    const std::size_t g = lay_.g(), p = lay_.p();
    const std::size_t nblocks = lay_.block_offset.size() - 1;
    active_ = active;
    d_offset_ = h.d_offset;
    Mat s(g, g);
    for (std::size_t i = 0; i < g; ++i) {
        const bool ai = active[lay_.globals[i]];
        for (std::size_t j = 0; j < g; ++j)
            s(i, j) = ai && active[lay_.globals[j]] ? h.a[i * g + j] : 0.0;
        s(i, i) = ai ? s(i, i) + damping * scale[lay_.globals[i]] : 1.0;
    }
    b_.assign(h.border.begin(), h.border.end());
    for (std::size_t j = 0; j < p; ++j) {
        double* col = b_.data() + j * g;
        if (!active[lay_.locals[j]]) {
            std::fill(col, col + g, 0.0);
            continue;
        }
        for (std::size_t i = 0; i < g; ++i)
            if (!active[lay_.globals[i]]) col[i] = 0.0;
    }
    dinv_.assign(h.d.size(), 0.0);
    u_.assign(p * g, 0.0);
    for (std::size_t blk = 0; blk < nblocks; ++blk) {
        const std::size_t off = lay_.block_offset[blk];
        const std::size_t k = lay_.block_offset[blk + 1] - off;
        const double* d = h.d.data() + d_offset_[blk];
        double* dinv = dinv_.data() + d_offset_[blk];
        if (k == 1) {
            const bool on = active[lay_.locals[off]];
            const double v = on ? d[0] + damping * scale[lay_.locals[off]] : 1.0;
            if (!(v > 0.0) || !std::isfinite(v)) return false;
            dinv[0] = 1.0 / v;
        } else {
            Mat m(k, k);
            for (std::size_t a = 0; a < k; ++a) {
                const bool on_a = active[lay_.locals[off + a]];
                for (std::size_t c = 0; c < k; ++c)
                    m(a, c) = on_a && active[lay_.locals[off + c]] ? d[a * k + c] : 0.0;
                m(a, a) = on_a ? m(a, a) + damping * scale[lay_.locals[off + a]] : 1.0;
            }
            Eigen::LLT<Mat> llt(m);
            if (llt.info() != Eigen::Success) return false;
            BlockMap(dinv, k, k) = llt.solve(Mat::Identity(k, k));
        }
        // U_blk = B_blk D_blk^-1, S -= U_blk B_blk^T
        for (std::size_t a = 0; a < k; ++a) {
            double* ua = u_.data() + (off + a) * g;
            for (std::size_t c = 0; c < k; ++c) {
                const double w = dinv[c * k + a];
                if (w == 0.0) continue;
                const double* bc = b_.data() + (off + c) * g;
                for (std::size_t i = 0; i < g; ++i) ua[i] += bc[i] * w;
            }
        }
        for (std::size_t a = 0; a < k; ++a) {
            const Eigen::Map<const Eigen::VectorXd> ua(u_.data() + (off + a) * g,
                                                       static_cast<Eigen::Index>(g));
            const Eigen::Map<const Eigen::VectorXd> ba(b_.data() + (off + a) * g,
                                                       static_cast<Eigen::Index>(g));
            s.noalias() -= ua * ba.transpose();
        }
    }
    if (g == 0) return true;
    s_.compute(s);
    return s_.info() == Eigen::Success;
}

void BlockSchur::solve(std::span<const double> r, std::span<double> x) const {
    const std::size_t g = lay_.g(), p = lay_.p();
    const std::size_t nblocks = lay_.block_offset.size() - 1;
    Eigen::VectorXd rg(g);
    for (std::size_t i = 0; i < g; ++i)
        rg[i] = active_[lay_.globals[i]] ? r[lay_.globals[i]] : 0.0;
    for (std::size_t j = 0; j < p; ++j) {
        const double rj = active_[lay_.locals[j]] ? r[lay_.locals[j]] : 0.0;
        if (rj == 0.0) continue;
        const double* uj = u_.data() + j * g;
        for (std::size_t i = 0; i < g; ++i) rg[i] -= uj[i] * rj;
    }
    const Eigen::VectorXd xg = g ? Eigen::VectorXd(s_.solve(rg)) : rg;
    for (std::size_t i = 0; i < g; ++i) x[lay_.globals[i]] = xg[i];
    std::vector<double> t;
    for (std::size_t blk = 0; blk < nblocks; ++blk) {
        const std::size_t off = lay_.block_offset[blk];
        const std::size_t k = lay_.block_offset[blk + 1] - off;
        t.assign(k, 0.0);
        for (std::size_t a = 0; a < k; ++a) {
            const std::uint32_t par = lay_.locals[off + a];
            if (!active_[par]) continue;
            const double* ba = b_.data() + (off + a) * g;
            double v = r[par];
            for (std::size_t i = 0; i < g; ++i) v -= ba[i] * xg[i];
            t[a] = v;
        }
        const double* dinv = dinv_.data() + d_offset_[blk];
        for (std::size_t a = 0; a < k; ++a) {
            double v = 0.0;
            for (std::size_t c = 0; c < k; ++c) v += dinv[a * k + c] * t[c];
            const std::uint32_t par = lay_.locals[off + a];
            x[par] = active_[par] ? v : 0.0;
        }
    }
}

double BlockSchur::inverse_diagonal(std::size_t i) const {
    const std::size_t g = lay_.g();
    const std::int64_t slot = lay_.slot[i];
    if (slot >= 0) return s_.solve(Eigen::VectorXd::Unit(g, slot))[slot];
    // (D^-1)_jj + u_j^T S^-1 u_j
    const std::size_t j = ~slot, blk = lay_.block_of[j];
    const std::size_t off = lay_.block_offset[blk];
    const std::size_t k = lay_.block_offset[blk + 1] - off;
    const double dj = dinv_[d_offset_[blk] + (j - off) * k + (j - off)];
    if (g == 0) return dj;
    const Eigen::Map<const Eigen::VectorXd> uj(u_.data() + j * g,
                                               static_cast<Eigen::Index>(g));
    return dj + uj.dot(s_.solve(uj));
}

Eigen::MatrixXd BlockSchur::global_inverse() const {
    const std::size_t g = lay_.g();
    if (g == 0) return Mat(0, 0);
    Mat inv = s_.solve(Mat::Identity(g, g));
    for (std::size_t i = 0; i < g; ++i) {
        if (active_[lay_.globals[i]]) continue;
        inv.row(i).setZero();
        inv.col(i).setZero();
    }
    return inv;
}

void block_multiply(const BlockLayout& lay, const BlockHessian& h,
                    std::span<const double> v, std::span<double> y) {
    const std::size_t g = lay.g(), p = lay.p();
    const std::size_t nblocks = lay.block_offset.size() - 1;
    for (std::size_t i = 0; i < g; ++i) {
        double acc = 0.0;
        for (std::size_t j = 0; j < g; ++j) acc += h.a[i * g + j] * v[lay.globals[j]];
        y[lay.globals[i]] = acc;
    }
    for (std::size_t j = 0; j < p; ++j) {
        const double* bj = h.border.data() + j * g;
        const double vj = v[lay.locals[j]];
        double acc = 0.0;
        for (std::size_t i = 0; i < g; ++i) {
            y[lay.globals[i]] += bj[i] * vj;
            acc += bj[i] * v[lay.globals[i]];
        }
        y[lay.locals[j]] = acc;
    }
    for (std::size_t blk = 0; blk < nblocks; ++blk) {
        const std::size_t off = lay.block_offset[blk];
        const std::size_t k = lay.block_offset[blk + 1] - off;
        const double* d = h.d.data() + h.d_offset[blk];
        for (std::size_t a = 0; a < k; ++a)
            for (std::size_t c = 0; c < k; ++c)
                y[lay.locals[off + a]] += d[a * k + c] * v[lay.locals[off + c]];
    }
}

} // namespace hifit
