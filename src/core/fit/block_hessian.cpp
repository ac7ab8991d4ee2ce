// Block Hessian of HistFactory models with per-bin parameters: the layout, and the
// evaluation in chunks of bins by the ordinary kernel (see block_hessian.hpp).
#include "fit/block_hessian.hpp"

#include "histfactory/main_terms.hpp"
#include "likelihood/model_data.hpp"
#include "likelihood/poisson_terms.hpp"

#include <algorithm>
#include <numeric>

namespace hifit {

void BlockHessian::reset(const BlockLayout& layout) {
    const std::size_t g = layout.g(), p = layout.p();
    a.assign(g * g, 0.0);
    border.assign(p * g, 0.0);
    const std::size_t nblocks = layout.block_offset.size() - 1;
    d_offset.resize(nblocks + 1);
    d_offset[0] = 0;
    for (std::size_t b = 0; b < nblocks; ++b) {
        const std::size_t k = layout.block_offset[b + 1] - layout.block_offset[b];
        d_offset[b + 1] = d_offset[b] + k * k;
    }
    d.assign(d_offset[nblocks], 0.0);
}

double BlockHessian::at(const BlockLayout& layout, std::size_t i, std::size_t j) const {
    const std::int64_t si = layout.slot[i], sj = layout.slot[j];
    const std::size_t g = layout.g();
    if (si >= 0 && sj >= 0) return a[si * g + sj];
    if (si >= 0) return border[static_cast<std::size_t>(~sj) * g + si];
    if (sj >= 0) return border[static_cast<std::size_t>(~si) * g + sj];
    const std::size_t li = ~si, lj = ~sj, blk = layout.block_of[li];
    if (layout.block_of[lj] != blk) return 0.0;
    const std::size_t off = layout.block_offset[blk];
    const std::size_t k = layout.block_offset[blk + 1] - off;
    return d[d_offset[blk] + (li - off) * k + (lj - off)];
}

// One chunk of consecutive main bins as a model of its own.
struct BlockEvaluator::Chunk {
    std::size_t bin_begin = 0, bin_end = 0;
    std::vector<std::uint32_t> pars; // its parameters (full numbering), increasing
    std::vector<std::uint32_t> aux;  // its constraint terms' auxdata (full numbering)
    std::unique_ptr<Model> model;
    std::unique_ptr<Likelihood> lh;
};

BlockEvaluator::~BlockEvaluator() = default;

namespace {

// Per parameter: the one main bin whose cells it touches, -1 for none, -2 for several.
std::vector<std::int64_t> touched_bins(const HistFactoryTerms& hf, std::size_t npars) {
    std::vector<std::int64_t> bin(npars, -1);
    auto touch = [&](std::uint32_t par, std::uint32_t b) {
        if (bin[par] == -1)
            bin[par] = b;
        else if (bin[par] != static_cast<std::int64_t>(b))
            bin[par] = -2;
    };
    for (const HistFactoryCell& cell : hf.cells) {
        for (std::uint32_t f = cell.factor_begin; f < cell.factor_end; ++f)
            touch(hf.slots[hf.cell_factors[f]].par, cell.bin);
        for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h)
            touch(hf.additive[h].par, cell.bin);
    }
    return bin;
}

} // namespace

std::optional<BlockLayout> block_layout(const Model& model, std::size_t min_locals) {
    const ModelData& md = model.compiled();
    const auto* hf = dynamic_cast<const HistFactoryTerms*>(md.main.get());
    if (!hf) return std::nullopt;
    const std::size_t npars = model.npars(), nmain = md.nmain;
    const std::vector<std::int64_t> bin = touched_bins(*hf, npars);

    // Local: an entry of a per-bin parameter set touching the cells of one bin.
    std::vector<bool> local(npars, false);
    std::size_t nlocal = 0;
    for (const ParamSetInfo& set : md.paramsets) {
        if (set.size < 2) continue;
        for (std::size_t i = set.offset; i < set.offset + set.size; ++i)
            if (bin[i] >= 0) local[i] = true, ++nlocal;
    }
    if (md.poi_index && local[*md.poi_index]) --nlocal, local[*md.poi_index] = false;
    if (nlocal < std::max<std::size_t>(min_locals, 1)) return std::nullopt;

    BlockLayout lay;
    lay.npars = npars;
    lay.slot.assign(npars, 0);
    std::vector<std::vector<std::uint32_t>> by_bin(nmain);
    for (std::size_t i = 0; i < npars; ++i) {
        if (local[i]) {
            by_bin[bin[i]].push_back(static_cast<std::uint32_t>(i));
        } else {
            lay.slot[i] = static_cast<std::int64_t>(lay.globals.size());
            lay.globals.push_back(static_cast<std::uint32_t>(i));
        }
    }
    lay.block_offset.push_back(0);
    for (std::size_t b = 0; b < nmain; ++b) {
        if (by_bin[b].empty()) continue;
        const auto blk = static_cast<std::uint32_t>(lay.block_bin.size());
        lay.block_bin.push_back(static_cast<std::uint32_t>(b));
        for (std::uint32_t i : by_bin[b]) {
            lay.slot[i] = ~static_cast<std::int64_t>(lay.locals.size());
            lay.block_of.push_back(blk);
            lay.locals.push_back(i);
        }
        lay.block_offset.push_back(static_cast<std::uint32_t>(lay.locals.size()));
    }
    return lay;
}

std::unique_ptr<BlockEvaluator> BlockEvaluator::make(const Model& model,
                                                     std::size_t min_locals) {
    std::optional<BlockLayout> layout = block_layout(model, min_locals);
    if (!layout) return nullptr;
    const ModelData& md = model.compiled();
    const auto* hf = static_cast<const HistFactoryTerms*>(md.main.get());
    const std::size_t npars = model.npars(), nmain = md.nmain;
    std::unique_ptr<BlockEvaluator> ev(new BlockEvaluator());
    ev->layout_ = std::move(*layout);
    ev->nmain_ = nmain;
    const BlockLayout& lay = ev->layout_;
    std::vector<std::size_t> locals_in_bin(nmain, 0);
    for (std::size_t blk = 0; blk < lay.block_bin.size(); ++blk)
        locals_in_bin[lay.block_bin[blk]] =
            lay.block_offset[blk + 1] - lay.block_offset[blk];

    // cells by bin (increasing cell index within a bin: the kernel's order of sums)
    std::vector<std::uint32_t> cell_start(nmain + 1, 0), cell_list(hf->cells.size());
    for (const HistFactoryCell& c : hf->cells) ++cell_start[c.bin + 1];
    std::partial_sum(cell_start.begin(), cell_start.end(), cell_start.begin());
    {
        std::vector<std::uint32_t> fill(cell_start.begin(), cell_start.end() - 1);
        for (std::uint32_t c = 0; c < hf->cells.size(); ++c)
            cell_list[fill[hf->cells[c].bin]++] = c;
    }
    // chunk boundaries: about max(32, g) local parameters each
    const std::size_t target = std::max<std::size_t>(32, lay.g());
    std::vector<std::size_t> bounds{0};
    for (std::size_t b = 0, count = 0; b < nmain; ++b) {
        count += locals_in_bin[b];
        if (count >= target || b + 1 == nmain) bounds.push_back(b + 1), count = 0;
    }
    const std::size_t nchunks = bounds.size() - 1;
    auto chunk_of_par = [&](std::uint32_t par) -> std::size_t {
        const std::int64_t slot = lay.slot[par];
        if (slot >= 0) return 0; // global constraints: the first chunk
        const std::size_t b = lay.block_bin[lay.block_of[~slot]];
        const auto it = std::upper_bound(bounds.begin(), bounds.end(), b);
        return static_cast<std::size_t>(it - bounds.begin()) - 1;
    };
    std::vector<std::vector<const GaussianTerm*>> gauss(nchunks);
    std::vector<std::vector<const PoissonTerm*>> pois(nchunks);
    for (const GaussianTerm& t : md.gaussian) gauss[chunk_of_par(t.par)].push_back(&t);
    for (const PoissonTerm& t : md.poisson) pois[chunk_of_par(t.par)].push_back(&t);

    std::vector<std::int64_t> renumber(npars, -1), slot_map(hf->slots.size(), -1);
    for (std::size_t k = 0; k < nchunks; ++k) {
        Chunk chunk;
        chunk.bin_begin = bounds[k];
        chunk.bin_end = bounds[k + 1];
        const std::uint32_t* cbegin = cell_list.data() + cell_start[chunk.bin_begin];
        const std::uint32_t* cend = cell_list.data() + cell_start[chunk.bin_end];
        std::vector<std::uint32_t> cells(cbegin, cend);
        std::sort(cells.begin(), cells.end());
        for (std::uint32_t c : cells) {
            const HistFactoryCell& cell = hf->cells[c];
            for (std::uint32_t f = cell.factor_begin; f < cell.factor_end; ++f)
                chunk.pars.push_back(hf->slots[hf->cell_factors[f]].par);
            for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h)
                chunk.pars.push_back(hf->additive[h].par);
        }
        for (const GaussianTerm* t : gauss[k]) chunk.pars.push_back(t->par);
        for (const PoissonTerm* t : pois[k]) chunk.pars.push_back(t->par);
        std::sort(chunk.pars.begin(), chunk.pars.end());
        chunk.pars.erase(std::unique(chunk.pars.begin(), chunk.pars.end()),
                         chunk.pars.end());
        // renumbered increasingly: the cells' factor parameters stay increasing
        for (std::size_t i = 0; i < chunk.pars.size(); ++i)
            renumber[chunk.pars[i]] = static_cast<std::int64_t>(i);

        auto terms = std::make_shared<HistFactoryTerms>();
        std::vector<std::uint32_t> used_slots;
        for (std::uint32_t c : cells) {
            const HistFactoryCell& cell = hf->cells[c];
            HistFactoryCell out = cell;
            out.bin = static_cast<std::uint32_t>(cell.bin - chunk.bin_begin);
            out.factor_begin = static_cast<std::uint32_t>(terms->cell_factors.size());
            for (std::uint32_t f = cell.factor_begin; f < cell.factor_end; ++f) {
                const std::uint32_t s = hf->cell_factors[f];
                if (slot_map[s] < 0) {
                    slot_map[s] = static_cast<std::int64_t>(terms->slots.size());
                    FactorSlot slot = hf->slots[s];
                    slot.par = static_cast<std::uint32_t>(renumber[slot.par]);
                    terms->slots.push_back(slot);
                    used_slots.push_back(s);
                }
                terms->cell_factors.push_back(static_cast<std::uint32_t>(slot_map[s]));
                terms->cell_factor_par.push_back(
                    static_cast<std::uint32_t>(renumber[hf->cell_factor_par[f]]));
            }
            out.factor_end = static_cast<std::uint32_t>(terms->cell_factors.size());
            out.add_begin = static_cast<std::uint32_t>(terms->additive.size());
            for (std::uint32_t h = cell.add_begin; h < cell.add_end; ++h) {
                AdditiveTerm t = hf->additive[h];
                t.par = static_cast<std::uint32_t>(renumber[t.par]);
                terms->additive.push_back(t);
            }
            out.add_end = static_cast<std::uint32_t>(terms->additive.size());
            terms->cells.push_back(out);
        }
        for (std::uint32_t s : used_slots) slot_map[s] = -1;

        auto sub = std::make_shared<ModelData>();
        sub->par_names.resize(chunk.pars.size());
        sub->nmain = chunk.bin_end - chunk.bin_begin;
        for (const GaussianTerm* t : gauss[k]) {
            sub->gaussian.push_back({static_cast<std::uint32_t>(renumber[t->par]),
                                     static_cast<std::uint32_t>(chunk.aux.size()),
                                     t->sigma});
            chunk.aux.push_back(t->aux);
        }
        for (const PoissonTerm* t : pois[k]) {
            sub->poisson.push_back({static_cast<std::uint32_t>(renumber[t->par]),
                                    static_cast<std::uint32_t>(chunk.aux.size()),
                                    t->factor});
            chunk.aux.push_back(t->aux);
        }
        for (std::uint32_t a : chunk.aux) sub->auxdata.push_back(md.auxdata[a]);
        sub->main = std::move(terms);
        for (std::uint32_t i : chunk.pars) renumber[i] = -1;
        chunk.model = std::make_unique<Model>(Model::from_compiled(std::move(sub)));
        ev->chunks_.push_back(std::move(chunk));
    }
    std::size_t widest = 0;
    for (const Chunk& c : ev->chunks_) widest = std::max(widest, c.pars.size());
    ev->buffer_.resize(2 * widest);
    ev->hess_.resize(widest * widest);
    return ev;
}

void BlockEvaluator::set_data(std::span<const double> data) {
    std::vector<double> part;
    for (Chunk& c : chunks_) {
        part.assign(data.begin() + c.bin_begin, data.begin() + c.bin_end);
        for (std::uint32_t a : c.aux) part.push_back(data[nmain_ + a]);
        if (c.lh) {
            c.lh->set_data(part);
        } else {
            c.lh = std::make_unique<Likelihood>(*c.model, part);
        }
    }
}

double BlockEvaluator::value(std::span<const double> pars) {
    return evaluate(pars, {}, nullptr);
}

double BlockEvaluator::evaluate(std::span<const double> pars, std::span<double> grad,
                                BlockHessian* hess) {
    const BlockLayout& lay = layout_;
    const std::size_t g = lay.g();
    if (!grad.empty()) std::fill(grad.begin(), grad.end(), 0.0);
    if (hess) hess->reset(lay);
    terms::CompensatedSum total;
    for (Chunk& c : chunks_) {
        const std::size_t m = c.pars.size();
        std::span<double> x(buffer_.data(), m), gc(buffer_.data() + m, m);
        for (std::size_t i = 0; i < m; ++i) x[i] = pars[c.pars[i]];
        if (grad.empty()) {
            total.add(c.lh->twice_nll(x));
            continue;
        }
        std::span<double> hc(hess_.data(), hess ? m * m : 0);
        total.add(c.lh->twice_nll_grad_hess(x, gc, hc));
        for (std::size_t i = 0; i < m; ++i) grad[c.pars[i]] += gc[i];
        if (!hess) continue;
        for (std::size_t i = 0; i < m; ++i) {
            const std::int64_t si = lay.slot[c.pars[i]];
            const double* row = hc.data() + i * m;
            if (si >= 0) {
                for (std::size_t j = 0; j < m; ++j) {
                    if (row[j] == 0.0) continue;
                    const std::int64_t sj = lay.slot[c.pars[j]];
                    if (sj >= 0)
                        hess->a[si * g + sj] += row[j];
                    else
                        hess->border[static_cast<std::size_t>(~sj) * g + si] += row[j];
                }
                continue;
            }
            const std::size_t li = ~si, blk = lay.block_of[li];
            const std::size_t off = lay.block_offset[blk];
            const std::size_t k = lay.block_offset[blk + 1] - off;
            double* drow = hess->d.data() + hess->d_offset[blk] + (li - off) * k;
            for (std::size_t j = 0; j < m; ++j) {
                const std::int64_t sj = lay.slot[c.pars[j]];
                if (sj >= 0 || row[j] == 0.0) continue;
                const std::size_t lj = ~sj;
                if (lay.block_of[lj] == blk) drow[lj - off] += row[j];
            }
        }
    }
    return total.value();
}

} // namespace hifit
