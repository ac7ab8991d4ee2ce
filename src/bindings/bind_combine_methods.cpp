// Engines of Combine's methods (hifit combine): saturated goodness of fit, HybridNew,
// ChannelCompatibilityCheck, FitDiagnostics.
#include "common.hpp"

#include <hifit/errors.hpp>
#include <hifit/infer/channel_compatibility.hpp>
#include <hifit/infer/hybrid_new.hpp>
#include <hifit/infer/saturated.hpp>
#include <hifit/infer/toys.hpp>
#include <hifit/workflow/fit_diagnostics.hpp>

#include <functional>
#include <memory>

namespace hifit::bindings {

namespace {

// HybridNewOptions::run_toys calling a Python function (hifit.executor) with the
// batch; the function object is released under the GIL whichever copy goes last.
std::function<void(const HybridToyBatch&, std::vector<double>&, std::vector<char>&)>
toy_runner(nb::callable fn) {
    std::shared_ptr<nb::object> held(new nb::object(std::move(fn)), [](nb::object* o) {
        nb::gil_scoped_acquire gil;
        delete o;
    });
    return [held](const HybridToyBatch& b, std::vector<double>& q,
                  std::vector<char>& ok) {
        nb::gil_scoped_acquire gil;
        nb::object out =
            (*held)(b.r, b.sb_gen, b.b_gen, b.n_sb, b.total, b.seed, b.first_stream);
        auto [qs, oks] =
            nb::cast<std::pair<std::vector<double>, std::vector<bool>>>(out);
        q = std::move(qs);
        ok.assign(oks.begin(), oks.end());
    };
}

} // namespace

void bind_combine_methods(nb::module_& m) {
    nb::class_<SaturatedStatistics>(m, "SaturatedStatistics")
        .def_ro("statistic", &SaturatedStatistics::statistic)
        .def_ro("valid", &SaturatedStatistics::valid)
        .def_ro("first_fit", &SaturatedStatistics::first_fit)
        .def_ro("failed", &SaturatedStatistics::failed)
        .def_ro("message", &SaturatedStatistics::message);
    m.def(
        "saturated_statistics",
        [](const Model& model, std::vector<double> datasets, int jobs,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return saturated_statistics(model, datasets, o, jobs);
        },
        nb::arg("model"), nb::arg("datasets"), nb::arg("jobs"), HIFIT_FIT_ARGS);

    nb::class_<HybridNewOptions>(m, "HybridNewOptions")
        .def(nb::init<>())
        .def_rw("cl", &HybridNewOptions::cl)
        .def_rw("toys", &HybridNewOptions::toys)
        .def_rw("full_b_toys", &HybridNewOptions::full_b_toys)
        .def_rw("cls_acc", &HybridNewOptions::cls_acc)
        .def_rw("r_abs_acc", &HybridNewOptions::r_abs_acc)
        .def_rw("r_rel_acc", &HybridNewOptions::r_rel_acc)
        .def_rw("iterations", &HybridNewOptions::iterations)
        .def_rw("expected_quantile", &HybridNewOptions::expected_quantile)
        .def_rw("cls_quantiles", &HybridNewOptions::cls_quantiles)
        .def_rw("cls", &HybridNewOptions::cls)
        .def_rw("seed", &HybridNewOptions::seed)
        .def_rw("jobs", &HybridNewOptions::jobs);
    nb::class_<HybridPoint>(m, "HybridPoint")
        .def_ro("r", &HybridPoint::r)
        .def_ro("q_obs", &HybridPoint::q_obs)
        .def_ro("q_sb", &HybridPoint::q_sb)
        .def_ro("q_b", &HybridPoint::q_b)
        .def_ro("cls", &HybridPoint::cls)
        .def_ro("cls_err", &HybridPoint::cls_err)
        .def_ro("clsb", &HybridPoint::clsb)
        .def_ro("clsb_err", &HybridPoint::clsb_err)
        .def_ro("clb", &HybridPoint::clb)
        .def_ro("clb_err", &HybridPoint::clb_err)
        .def_ro("failed_toys", &HybridPoint::failed_toys)
        .def_ro("valid", &HybridPoint::valid)
        .def_ro("message", &HybridPoint::message);
    nb::class_<HybridLimit>(m, "HybridLimit")
        .def_ro("limit", &HybridLimit::limit)
        .def_ro("limit_err", &HybridLimit::limit_err)
        .def_ro("points", &HybridLimit::points)
        .def_ro("valid", &HybridLimit::valid)
        .def_ro("message", &HybridLimit::message);
    m.def(
        "hybrid_new_toys",
        [](const Model& model, double r, std::vector<double> sb_gen,
           std::vector<double> b_gen, std::size_t n_sb, std::size_t total,
           unsigned long long seed, unsigned long long first_stream, std::size_t begin,
           std::size_t end, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed) {
            if (begin > end || end > total)
                throw InvalidArgument("hybrid_new_toys: toys outside the batch");
            const HybridToyBatch batch{
                r,    std::move(sb_gen), std::move(b_gen), n_sb, total,
                seed, first_stream};
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            std::vector<double> q(total, 0.0);
            std::vector<char> ok(total, 0);
            {
                nb::gil_scoped_release release;
                hybrid_new_toys(model, o, batch, begin, end, q, ok);
            }
            return std::make_pair(
                std::vector<double>(q.begin() + begin, q.begin() + end),
                std::vector<bool>(ok.begin() + begin, ok.begin() + end));
        },
        nb::arg("model"), nb::arg("r"), nb::arg("sb_gen"), nb::arg("b_gen"),
        nb::arg("n_sb"), nb::arg("total"), nb::arg("seed"), nb::arg("first_stream"),
        nb::arg("begin"), nb::arg("end"), HIFIT_FIT_ARGS);
    nb::class_<HybridNew>(m, "HybridNew")
        .def(
            "__init__",
            [](HybridNew* self, const Model& model, std::vector<double> data,
               std::vector<double> init, std::vector<std::pair<double, double>> bounds,
               std::vector<bool> fixed, const HybridNewOptions& options,
               std::optional<nb::callable> run_toys) {
                HybridNewOptions o = options;
                if (run_toys) o.run_toys = toy_runner(*run_toys);
                new (self) HybridNew(
                    model, data,
                    fit_options(std::move(init), std::move(bounds), std::move(fixed)),
                    o);
            },
            nb::arg("model"), nb::arg("data"), HIFIT_FIT_ARGS, nb::arg("options"),
            nb::arg("run_toys") = nb::none())
        .def(
            "eval",
            [](HybridNew& h, double r, bool adaptive, double target) {
                nb::gil_scoped_release release;
                return h.eval(r, adaptive, target);
            },
            nb::arg("r"), nb::arg("adaptive") = false, nb::arg("target") = -1.0)
        .def(
            "limit",
            [](HybridNew& h, double r_min, double r_max) {
                nb::gil_scoped_release release;
                return h.limit(r_min, r_max);
            },
            nb::arg("r_min"), nb::arg("r_max"));

    nb::class_<ChannelCompatibility>(m, "ChannelCompatibility")
        .def_ro("nominal", &ChannelCompatibility::nominal)
        .def_ro("alternate", &ChannelCompatibility::alternate)
        .def_ro("nominal_interval", &ChannelCompatibility::nominal_interval)
        .def_ro("alternate_intervals", &ChannelCompatibility::alternate_intervals)
        .def_ro("chi2", &ChannelCompatibility::chi2)
        .def_ro("valid", &ChannelCompatibility::valid)
        .def_ro("message", &ChannelCompatibility::message);
    m.def(
        "channel_compatibility",
        [](const Model& nominal, const Model& alternate, std::vector<double> data,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed, std::vector<double> alt_init,
           std::vector<std::pair<double, double>> alt_bounds,
           std::vector<bool> alt_fixed, std::vector<std::size_t> alternate_pois,
           bool run_minos) {
            const FitOptions a =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            const FitOptions b = fit_options(std::move(alt_init), std::move(alt_bounds),
                                             std::move(alt_fixed));
            nb::gil_scoped_release release;
            return channel_compatibility(nominal, alternate, data, a, b, alternate_pois,
                                         run_minos);
        },
        nb::arg("nominal"), nb::arg("alternate"), nb::arg("data"), HIFIT_FIT_ARGS,
        nb::arg("alt_init"), nb::arg("alt_bounds"), nb::arg("alt_fixed"),
        nb::arg("alternate_pois"), nb::arg("run_minos"));

    nb::class_<YieldSet>(m, "YieldSet")
        .def_ro("yields", &YieldSet::yields)
        .def_ro("errors", &YieldSet::errors)
        .def_ro("total", &YieldSet::total)
        .def_ro("total_err", &YieldSet::total_err)
        .def_ro("signal", &YieldSet::signal)
        .def_ro("signal_err", &YieldSet::signal_err)
        .def_ro("background", &YieldSet::background)
        .def_ro("background_err", &YieldSet::background_err)
        .def_ro("norms", &YieldSet::norms)
        .def_ro("norm_errors", &YieldSet::norm_errors)
        .def_ro("channel_sums", &YieldSet::channel_sums)
        .def_ro("channel_sum_errors", &YieldSet::channel_sum_errors)
        .def_ro("total_covariance", &YieldSet::total_covariance);
    nb::class_<FitDiagnosticsResult>(m, "FitDiagnosticsResult")
        .def_ro("fit_s", &FitDiagnosticsResult::fit_s)
        .def_ro("fit_b", &FitDiagnosticsResult::fit_b)
        .def_ro("poi_interval", &FitDiagnosticsResult::poi_interval)
        .def_ro("prefit", &FitDiagnosticsResult::prefit)
        .def_ro("prefit_err", &FitDiagnosticsResult::prefit_err)
        .def_ro("yields_prefit", &FitDiagnosticsResult::yields_prefit)
        .def_ro("yields_fit_b", &FitDiagnosticsResult::yields_fit_b)
        .def_ro("yields_fit_s", &FitDiagnosticsResult::yields_fit_s)
        .def_ro("present", &FitDiagnosticsResult::present)
        .def_ro("aux_of", &FitDiagnosticsResult::aux_of)
        .def_ro("valid", &FitDiagnosticsResult::valid)
        .def_ro("message", &FitDiagnosticsResult::message);
    m.def(
        "fit_diagnostics",
        [](const Model& model, std::vector<double> data, std::vector<bool> signal,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed, bool run_minos, double minos_delta) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return fit_diagnostics(model, data, signal, o, run_minos, minos_delta);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("signal_samples"), HIFIT_FIT_ARGS,
        nb::arg("run_minos"), nb::arg("minos_delta") = 1.0);
}

} // namespace hifit::bindings
