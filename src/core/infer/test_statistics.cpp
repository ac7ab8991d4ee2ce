// Test statistics, Asimov data sets and the asymptotic calculator, with pyhf's
// definitions and Combine's where the two differ (expected bands, expected
// significance).
#include <hifit/errors.hpp>
#include <hifit/infer/impacts.hpp>
#include <hifit/infer/limits.hpp>
#include <hifit/infer/scans.hpp>
#include <hifit/infer/stats.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include "enum_names.hpp"
#include "fit/setup.hpp"
#include "infer/asymptotic.hpp"
#include "infer/messages.hpp"
#include "likelihood/model_data.hpp"

#include <algorithm>
#include <cmath>

namespace hifit {

const char* to_string(TestStat stat) {
    static constexpr const char* names[] = {"q0", "qmu", "qmu_tilde", "tmu",
                                            "tmu_tilde"};
    return enum_name(stat, names);
}

const char* to_string(Convention convention) {
    static constexpr const char* names[] = {"automatic", "pyhf", "combine"};
    return enum_name(convention, names);
}

Convention resolve(Convention convention, const Model& model) {
    if (convention != Convention::automatic) return convention;
    return model.kind() == ModelKind::combine ? Convention::combine : Convention::pyhf;
}

std::array<double, 5> expected_band_sigmas(Convention convention) {
    if (convention == Convention::combine) {
        // AsymptoticLimits' quantiles of the background-only distribution
        const double quantiles[5] = {0.025, 0.16, 0.5, 0.84, 0.975};
        std::array<double, 5> out{};
        for (int i = 0; i < 5; ++i) out[i] = stats::normal_quantile(quantiles[i]);
        return out;
    }
    return {-2.0, -1.0, 0.0, 1.0, 2.0};
}

const char* to_string(ExpectedAsimov kind) {
    static constexpr const char* names[] = {"automatic", "prefit", "postfit"};
    return enum_name(kind, names);
}

// pyhf's value: t = max(2NLL(mu, theta-hat-hat) - 2NLL(mu-hat, theta-hat), 0), set to 0
// for q_mu when mu-hat > mu and for q0 when mu-hat < 0.
double statistic_value(TestStat stat, double mu, double muhat, double fixed_nll,
                       double free_nll) {
    const double t = std::max(fixed_nll - free_nll, 0.0);
    switch (stat) {
    case TestStat::q0:
        return muhat < 0.0 ? 0.0 : t;
    case TestStat::qmu:
    case TestStat::qmu_tilde:
        return muhat > mu ? 0.0 : t;
    default:
        return t;
    }
}

bool needs_fixed_fit(TestStat stat, double mu, double muhat) {
    switch (stat) {
    case TestStat::q0:
        return !(muhat < 0.0);
    case TestStat::qmu:
    case TestStat::qmu_tilde:
        return !(muhat > mu);
    default:
        return true;
    }
}

namespace {

std::size_t require_poi(const Model& model) {
    if (!model.poi_index()) {
        throw InvalidArgument(
            "this inference needs a model with a parameter of interest");
    }
    return *model.poi_index();
}

// Asimov data (main and auxiliary) at POI = mu; see ExpectedAsimov. `start` warm-starts
// the generating fit of a post-fit set.
std::vector<double> make_asimov(Likelihood& lh, std::span<const double> data,
                                std::size_t poi, double mu, ExpectedAsimov kind,
                                const FitOptions& options,
                                const std::vector<double>& start, FitResult& generating,
                                Solutions& known) {
    const Model& model = lh.model();
    std::vector<double> out(model.nmain() + model.naux());
    if (kind == ExpectedAsimov::prefit) {
        std::vector<double> pars = options.init;
        pars[poi] = mu;
        if (model.kind() == ModelKind::combine) {
            const ModelData& md = model.compiled();
            // text2workspace starts a gmN at N + 1 sideband events (the mean of its
            // Gamma posterior), so Combine's pre-fit rate is alpha (N + 1).
            const double* aux = data.data() + model.nmain();
            for (const PoissonTerm& t : md.poisson)
                if (!options.fixed[t.par]) pars[t.par] = (aux[t.aux] + 1.0) / t.factor;
        }
        lh.expected_data(pars, std::span<double>(out).first(model.nmain()), false);
        std::copy(data.begin() + static_cast<std::ptrdiff_t>(model.nmain()), data.end(),
                  out.begin() + static_cast<std::ptrdiff_t>(model.nmain()));
        generating = FitResult{};
        generating.bestfit = std::move(pars);
        generating.valid = true;
        return out;
    }
    generating = conditional_fit(lh, options, poi, mu, start, known,
                                 continuation_step(options, poi));
    lh.expected_data(generating.bestfit, out);
    return out;
}

} // namespace

std::vector<double> asimov_data(const Model& model, std::span<const double> data,
                                double mu, ExpectedAsimov kind, const FitOptions& base,
                                FitResult* generating_fit) {
    const std::size_t poi = require_poi(model);
    FitOptions options = resolved(model, base);
    options.compute_covariance = false;
    Likelihood lh(model, data);
    FitResult generating;
    Solutions known; // no solution yet: the fit starts from the initial values
    std::vector<double> out =
        make_asimov(lh, data, poi, mu, kind, options, options.init, generating, known);
    if (generating_fit) *generating_fit = std::move(generating);
    return out;
}

TestStatResult test_statistic(const Model& model, std::span<const double> data,
                              double mu, TestStat stat, const FitOptions& base,
                              const FitResult* free_fit) {
    const std::size_t poi = require_poi(model);
    if (stat == TestStat::q0) mu = 0.0;
    const FitOptions options = resolved(model, base);
    Likelihood lh(model, data);
    TestStatResult out;
    if (free_fit) {
        out.free_fit = *free_fit;
    } else {
        FitOptions free = options;
        free.compute_covariance = false;
        out.free_fit = robust_fit(lh, free);
    }
    Solutions known{{out.free_fit.bestfit[poi], out.free_fit.bestfit}};
    out.fixed_fit = conditional_fit(lh, options, poi, mu, out.free_fit.bestfit, known,
                                    continuation_step(options, poi));
    out.value = statistic_value(stat, mu, out.free_fit.bestfit[poi],
                                out.fixed_fit.twice_nll, out.free_fit.twice_nll);
    return out;
}

void asymptotic_cls(HypoTestResult& r, TestStat stat) {
    const double sq = std::sqrt(r.q_obs), sqa = std::sqrt(r.q_asimov);
    // Test statistic in -mu-hat/sigma space (pyhf's
    // AsymptoticCalculator.teststatistic).
    double t = sq - sqa;
    if (stat == TestStat::qmu_tilde && !(sq <= sqa || r.q_asimov == 0.0)) {
        t = (r.q_obs - r.q_asimov) / (2.0 * sqa);
    }
    r.clsb_obs = stats::normal_sf(t + sqa);
    r.clb_obs = stats::normal_sf(t);
    r.cls_obs = stat == TestStat::q0 ? r.clsb_obs : r.clsb_obs / r.clb_obs;
    // A background-only experiment N sigma off its median: CLb = Phi(N).
    const std::array<double, 5> sigmas = expected_band_sigmas(r.convention);
    for (std::size_t i = 0; i < 5; ++i) {
        const double clsb = stats::normal_sf(sqa - sigmas[i]);
        r.cls_exp[i] =
            stat == TestStat::q0 ? clsb : clsb / stats::normal_cdf(sigmas[i]);
    }
}

AsymptoticCalculator::AsymptoticCalculator(const Model& model,
                                           std::span<const double> data, TestStat stat,
                                           FitOptions base, Convention convention,
                                           ExpectedAsimov asimov)
    : model_(model), data_(data.begin(), data.end()), stat_(stat),
      convention_(resolve(convention, model)), base_(resolved(model, std::move(base))),
      poi_(require_poi(model)), lh_data_(model, data), lh_asimov_(model, data) {
    if (stat == TestStat::tmu || stat == TestStat::tmu_tilde) {
        throw InvalidArgument(
            "the asymptotic calculator supports q0, qmu and qmu_tilde");
    }
    base_.compute_covariance = false;
    free_data_ = robust_fit(lh_data_, base_);
    // Asimov data: expected data (main and auxiliary) at the conditional fit to data
    // with mu = 0 (mu = 1 for discovery), or a priori at the initial values.
    const double asimov_mu = stat == TestStat::q0 ? 1.0 : 0.0;
    solved_data_[free_data_.bestfit[poi_]] = free_data_.bestfit;
    const ExpectedAsimov kind = asimov == ExpectedAsimov::prefit
                                    ? ExpectedAsimov::prefit
                                    : ExpectedAsimov::postfit;
    asimov_data_ = make_asimov(lh_data_, data_, poi_, asimov_mu, kind, base_,
                               free_data_.bestfit, asimov_fit_, solved_data_);
    lh_asimov_.set_data(asimov_data_);
    // At the generating point every expected count equals its Asimov count and every
    // constraint sits at its auxiliary value: the likelihood equals the saturated one,
    // which bounds it everywhere, so the warm start is the global minimum. A second
    // start (as robust_fit would try) is only needed if that fit fails.
    free_asimov_ = fit(lh_asimov_, warm(base_, asimov_fit_.bestfit));
    if (!free_asimov_.valid) {
        free_asimov_ = robust_fit(lh_asimov_, warm(base_, asimov_fit_.bestfit));
    }
    solved_asimov_[free_asimov_.bestfit[poi_]] = free_asimov_.bestfit;
}

void AsymptoticCalculator::set_poi_upper_bound(double hi) {
    base_.bounds[poi_].second = hi;
}

double AsymptoticCalculator::poi_upper_bound() const {
    return base_.bounds[poi_].second;
}

double AsymptoticCalculator::asimov_qmu(double mu, std::string* failure) {
    if (stat_ == TestStat::q0) mu = 0.0;
    const FitResult fixed_asimov =
        conditional_fit(lh_asimov_, base_, poi_, mu, free_asimov_.bestfit,
                        solved_asimov_, continuation_step(base_, poi_));
    if (failure) {
        *failure = fit_failures({{"Asimov generation fit", &asimov_fit_},
                                 {"free fit to Asimov", &free_asimov_},
                                 {"fixed-POI fit to Asimov", &fixed_asimov}});
    }
    return statistic_value(stat_, mu, free_asimov_.bestfit[poi_],
                           fixed_asimov.twice_nll, free_asimov_.twice_nll);
}

HypoTestResult AsymptoticCalculator::hypotest(double mu) {
    return hypotest_on(mu, lh_data_, lh_asimov_, solved_data_, solved_asimov_);
}

std::vector<HypoTestResult>
AsymptoticCalculator::hypotests(std::span<const double> mus) const {
    Likelihood lh_data(model_, data_), lh_asimov(model_, asimov_data_);
    std::map<double, std::vector<double>> solved_data{
        {free_data_.bestfit[poi_], free_data_.bestfit}};
    std::map<double, std::vector<double>> solved_asimov{
        {free_asimov_.bestfit[poi_], free_asimov_.bestfit}};
    std::vector<HypoTestResult> out;
    out.reserve(mus.size());
    for (double mu : mus)
        out.push_back(hypotest_on(mu, lh_data, lh_asimov, solved_data, solved_asimov));
    return out;
}

HypoTestResult AsymptoticCalculator::hypotest_on(
    double mu, Likelihood& lh_data, Likelihood& lh_asimov,
    std::map<double, std::vector<double>>& solved_data,
    std::map<double, std::vector<double>>& solved_asimov) const {
    HypoTestResult r;
    r.convention = convention_;
    r.mu = stat_ == TestStat::q0 ? 0.0 : mu;
    // from the free fit, the hypotests next to mu and continuation (conditional_fit)
    const double step = continuation_step(base_, poi_);
    const FitResult fixed_data = conditional_fit(lh_data, base_, poi_, r.mu,
                                                 free_data_.bestfit, solved_data, step);
    const FitResult fixed_asimov = conditional_fit(
        lh_asimov, base_, poi_, r.mu, free_asimov_.bestfit, solved_asimov, step);
    r.q_obs = statistic_value(stat_, r.mu, free_data_.bestfit[poi_],
                              fixed_data.twice_nll, free_data_.twice_nll);
    r.q_asimov = statistic_value(stat_, r.mu, free_asimov_.bestfit[poi_],
                                 fixed_asimov.twice_nll, free_asimov_.twice_nll);
    asymptotic_cls(r, stat_);
    r.message = fit_failures({{"free fit to data", &free_data_},
                              {"Asimov generation fit", &asimov_fit_},
                              {"free fit to Asimov", &free_asimov_},
                              {"fixed-POI fit to data", &fixed_data},
                              {"fixed-POI fit to Asimov", &fixed_asimov}});
    r.valid = r.message.empty();
    return r;
}

} // namespace hifit
