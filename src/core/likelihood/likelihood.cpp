// -2 ln L = 2 (main terms of the model's kind + constraint terms), each evaluated as a
// deviance (zero at the saturated point) plus a constant of the data
// (poisson_terms.hpp); the constants are summed once per data set.
#include <hifit/errors.hpp>
#include <hifit/likelihood/model.hpp>

#include "likelihood/main_terms.hpp"
#include "likelihood/model_data.hpp"
#include "likelihood/poisson_terms.hpp"

#include <algorithm>
#include <cmath>

namespace hifit {

struct Likelihood::Scratch {
    std::unique_ptr<MainScratch> main;
    std::vector<double> grad; // the Hessian pass needs a gradient buffer
    double constant = 0.0;    // -ln L at the saturated point (constants of the data)
};

namespace {

// Deviances of the Gaussian and Poisson constraint terms of -ln L, added to nll;
// gradient and Hessian diagonal added in -ln L units.
void constraint_terms(const ModelData& md, std::span<const double> pars,
                      const double* aux, std::span<double> grad, std::span<double> hess,
                      terms::CompensatedSum& nll) {
    const std::size_t npars = pars.size();
    for (const GaussianTerm& t : md.gaussian) {
        const double z = (aux[t.aux] - pars[t.par]) / t.sigma;
        nll.add(0.5 * z * z);
        if (!grad.empty()) grad[t.par] -= z / t.sigma;
        if (!hess.empty()) hess[t.par * npars + t.par] += 1.0 / (t.sigma * t.sigma);
    }
    for (const PoissonTerm& t : md.poisson) {
        // rate gamma tau against a: the difference with one rounding (tau up to 1e13)
        const double a = aux[t.aux], gamma = pars[t.par];
        const double rate = gamma * t.factor, d = std::fma(gamma, t.factor, -a);
        nll.add(terms::poisson_deviance(d, rate, a));
        if (!grad.empty()) grad[t.par] += a == 0.0 ? t.factor : d / gamma;
        if (!hess.empty() && a != 0.0)
            hess[t.par * npars + t.par] += a / (gamma * gamma);
    }
}

} // namespace

Likelihood::Likelihood(const Model& model, std::span<const double> data)
    : model_(model), scratch_(std::make_unique<Scratch>()) {
    check_dense_memory(model_, 0);
    const ModelData& md = model_.compiled();
    scratch_->main = md.main->make_scratch(md.nmain, model_.npars());
    scratch_->grad.resize(model_.npars());
    set_data(data);
}

Likelihood::~Likelihood() = default;
Likelihood::Likelihood(Likelihood&&) noexcept = default;
Likelihood& Likelihood::operator=(Likelihood&&) noexcept = default;

void Likelihood::set_data(std::span<const double> data) {
    const ModelData& md = model_.compiled();
    if (data.size() != md.nmain + md.auxdata.size()) {
        throw InvalidArgument("data has " + std::to_string(data.size()) +
                              " entries, the model expects " +
                              std::to_string(md.nmain) + " main bins + " +
                              std::to_string(md.auxdata.size()) + " auxiliary data");
    }
    data_.assign(data.begin(), data.end());
    terms::CompensatedSum constant;
    const std::span<const std::uint8_t> masked = md.main->masked_bins();
    for (std::size_t b = 0; b < md.nmain; ++b) {
        if (masked.empty() || !masked[b])
            constant.add(terms::poisson_constant(data_[b]));
    }
    for (const GaussianTerm& t : md.gaussian) {
        constant.add(terms::gaussian_constant(t.sigma));
    }
    for (const PoissonTerm& t : md.poisson) {
        constant.add(terms::poisson_constant(data_[md.nmain + t.aux]));
    }
    scratch_->constant = constant.value();
}

double Likelihood::twice_nll_saturated() const {
    return 2.0 * scratch_->constant;
}

double Likelihood::twice_nll_constraints(std::span<const double> pars) const {
    const ModelData& md = model_.compiled();
    if (pars.size() != model_.npars()) {
        throw InvalidArgument("parameter vector has " + std::to_string(pars.size()) +
                              " entries, the model has " +
                              std::to_string(model_.npars()));
    }
    const double* aux = data_.data() + md.nmain;
    terms::CompensatedSum nll;
    constraint_terms(md, pars, aux, {}, {}, nll);
    for (const GaussianTerm& t : md.gaussian)
        nll.add(terms::gaussian_constant(t.sigma));
    for (const PoissonTerm& t : md.poisson)
        nll.add(terms::poisson_constant(aux[t.aux]));
    return 2.0 * nll.value();
}

double Likelihood::twice_deviance(std::span<const double> pars) {
    return 2.0 * deviance_terms(pars, {}, {});
}

double Likelihood::twice_nll(std::span<const double> pars) {
    return twice_nll_grad_hess(pars, {}, {});
}

double Likelihood::twice_nll_grad(std::span<const double> pars,
                                  std::span<double> grad) {
    return twice_nll_grad_hess(pars, grad, {});
}

double Likelihood::twice_nll_grad_hess(std::span<const double> pars,
                                       std::span<double> grad, std::span<double> hess) {
    return 2.0 * (deviance_terms(pars, grad, hess) + scratch_->constant);
}

double Likelihood::twice_nll_grad_fisher(std::span<const double> pars,
                                         std::span<double> grad,
                                         std::span<double> hess) {
    return 2.0 * (deviance_terms(pars, grad, hess, true) + scratch_->constant);
}

bool Likelihood::has_fisher_hessian() const {
    return model_.compiled().main->fisher_hessian(model_.nmain(), model_.npars());
}

double Likelihood::deviance_terms(std::span<const double> pars, std::span<double> grad,
                                  std::span<double> hess, bool fisher) {
    const ModelData& md = model_.compiled();
    const std::size_t npars = model_.npars();
    if (pars.size() != npars) {
        throw InvalidArgument("parameter vector has " + std::to_string(pars.size()) +
                              " entries, the model has " + std::to_string(npars));
    }
    Scratch& s = *scratch_;
    if (grad.empty() && !hess.empty()) grad = s.grad;
    std::fill(grad.begin(), grad.end(), 0.0);
    std::fill(hess.begin(), hess.end(), 0.0);
    Evaluation e{pars, data_.data(), grad, hess, {}, fisher};
    md.main->before_constraints(e, *s.main);
    constraint_terms(md, pars, data_.data() + md.nmain, grad, hess, e.nll);
    md.main->after_constraints(e, *s.main);
    for (double& g : grad) g *= 2.0;
    for (double& h : hess) h *= 2.0;
    return e.nll.value();
}

void Likelihood::set_profiled_parameters(std::span<double> pars) {
    twice_nll(pars);
    model_.compiled().main->profiled_parameters(*scratch_->main, pars);
}

void Likelihood::cell_rates(std::span<const double> pars, std::vector<double>& out) {
    twice_nll(pars); // fills the rates of every cell
    model_.compiled().main->cell_rates(*scratch_->main, out);
}

void Likelihood::expected_data(std::span<const double> pars, std::span<double> out,
                               bool include_auxdata) {
    const ModelData& md = model_.compiled();
    const std::size_t need = md.nmain + (include_auxdata ? md.auxdata.size() : 0);
    if (out.size() != need) {
        throw InvalidArgument("output buffer has " + std::to_string(out.size()) +
                              " entries, expected " + std::to_string(need));
    }
    twice_nll(pars); // fills the rates
    std::copy(scratch_->main->nu.begin(), scratch_->main->nu.end(), out.begin());
    if (!include_auxdata) return;
    double* aux = out.data() + md.nmain;
    for (const GaussianTerm& t : md.gaussian) aux[t.aux] = pars[t.par];
    for (const PoissonTerm& t : md.poisson) aux[t.aux] = pars[t.par] * t.factor;
}

} // namespace hifit
