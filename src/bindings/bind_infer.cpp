#include "common.hpp"

#include <hifit/errors.hpp>
#include <hifit/infer/grid.hpp>
#include <hifit/infer/impacts.hpp>
#include <hifit/infer/limits.hpp>
#include <hifit/infer/scans.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include <nanobind/stl/array.h>
#include <nanobind/stl/tuple.h>

namespace hifit::bindings {

namespace {

TestStat parse_stat(const std::string& name) {
    if (name == "q0") return TestStat::q0;
    if (name == "q" || name == "qmu") return TestStat::qmu;
    if (name == "qtilde" || name == "qmu_tilde") return TestStat::qmu_tilde;
    if (name == "tmu") return TestStat::tmu;
    if (name == "tmu_tilde") return TestStat::tmu_tilde;
    throw InvalidArgument("unknown test statistic \"" + name +
                          "\" (expected q0, qmu, qtilde, tmu or tmu_tilde)");
}

Convention parse_convention(const std::string& name) {
    if (name == "auto" || name == "automatic") return Convention::automatic;
    if (name == "pyhf") return Convention::pyhf;
    if (name == "combine") return Convention::combine;
    throw InvalidArgument("unknown convention \"" + name +
                          "\" (expected auto, pyhf or combine)");
}

ExpectedAsimov parse_expected(const std::string& name) {
    if (name == "auto" || name == "automatic") return ExpectedAsimov::automatic;
    if (name == "prefit") return ExpectedAsimov::prefit;
    if (name == "postfit") return ExpectedAsimov::postfit;
    throw InvalidArgument("unknown expected Asimov data set \"" + name +
                          "\" (expected auto, prefit or postfit)");
}

using Release = nb::call_guard<nb::gil_scoped_release>;

using HypoTestState = std::tuple<double, double, double, double, std::array<double, 5>,
                                 double, double, std::string, bool, std::string>;

} // namespace

void bind_infer(nb::module_& m) {
    nb::class_<HypoTestResult>(m, "HypoTestResult")
        .def_ro("mu", &HypoTestResult::mu)
        .def_ro("cls_obs", &HypoTestResult::cls_obs)
        .def_ro("clsb_obs", &HypoTestResult::clsb_obs)
        .def_ro("clb_obs", &HypoTestResult::clb_obs)
        .def_ro("cls_exp", &HypoTestResult::cls_exp)
        .def_ro("q_obs", &HypoTestResult::q_obs)
        .def_ro("q_asimov", &HypoTestResult::q_asimov)
        .def_prop_ro("convention",
                     [](const HypoTestResult& r) { return to_string(r.convention); })
        .def_ro("valid", &HypoTestResult::valid)
        .def_ro("message", &HypoTestResult::message)
        // plain data: Dask ships hypotests back and checkpoints keep them as JSON
        .def("__getstate__",
             [](const HypoTestResult& r) {
                 return std::make_tuple(r.mu, r.cls_obs, r.clsb_obs, r.clb_obs,
                                        r.cls_exp, r.q_obs, r.q_asimov,
                                        std::string(to_string(r.convention)), r.valid,
                                        r.message);
             })
        .def("__setstate__", [](HypoTestResult& r, const HypoTestState& s) {
            new (&r) HypoTestResult{std::get<0>(s), std::get<1>(s),
                                    std::get<2>(s), std::get<3>(s),
                                    std::get<4>(s), std::get<5>(s),
                                    std::get<6>(s), parse_convention(std::get<7>(s)),
                                    std::get<8>(s), std::get<9>(s)};
        });

    nb::class_<AsymptoticCalculator>(m, "AsymptoticCalculator")
        .def(
            "__init__",
            [](AsymptoticCalculator* self, const Model& model, std::vector<double> data,
               const std::string& stat, std::vector<double> init,
               std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed,
               const std::string& convention, const std::string& asimov) {
                FitOptions o =
                    fit_options(std::move(init), std::move(bounds), std::move(fixed));
                const TestStat s = parse_stat(stat);
                const Convention c = parse_convention(convention);
                const ExpectedAsimov a = parse_expected(asimov);
                nb::gil_scoped_release release;
                new (self) AsymptoticCalculator(model, data, s, std::move(o), c, a);
            },
            nb::arg("model"), nb::arg("data"), nb::arg("test_stat"), HIFIT_FIT_ARGS,
            nb::arg("convention") = "auto", nb::arg("asimov") = "postfit")
        .def("hypotest", &AsymptoticCalculator::hypotest, nb::arg("mu"), Release())
        .def_prop_ro("asimov_data", &AsymptoticCalculator::asimov_data)
        .def_prop_ro("free_fit", &AsymptoticCalculator::free_fit)
        .def_prop_ro("asimov_free_fit", &AsymptoticCalculator::asimov_free_fit)
        .def_prop_ro("convention", [](const AsymptoticCalculator& c) {
            return to_string(c.convention());
        });

    nb::class_<UpperLimitResult>(m, "UpperLimitResult")
        .def_ro("observed", &UpperLimitResult::observed)
        .def_ro("observed_err", &UpperLimitResult::observed_err)
        .def_ro("expected", &UpperLimitResult::expected)
        .def_ro("points", &UpperLimitResult::points)
        .def_prop_ro("convention",
                     [](const UpperLimitResult& r) { return to_string(r.convention); })
        .def_ro("valid", &UpperLimitResult::valid)
        .def_ro("message", &UpperLimitResult::message)
        .def_ro("notes", &UpperLimitResult::notes);
    m.def("upper_limit", &upper_limit, nb::arg("calculator"), nb::arg("level") = 0.05,
          nb::arg("rtol") = 1e-6, Release());
    m.def(
        "upper_limit_scan",
        [](AsymptoticCalculator& calc, std::vector<double> mus, double level) {
            nb::gil_scoped_release release;
            return upper_limit_scan(calc, mus, level);
        },
        nb::arg("calculator"), nb::arg("mus"), nb::arg("level") = 0.05);
    m.attr("limit_scan_segment_points") = kLimitScanSegment;
    m.def(
        "limit_scan_range",
        [](const AsymptoticCalculator& calc, std::vector<double> mus) {
            nb::gil_scoped_release release;
            return limit_scan_range(calc, mus);
        },
        nb::arg("calculator"), nb::arg("mus"));
    m.def(
        "limit_from_scan",
        [](std::vector<HypoTestResult> points, double level) {
            nb::gil_scoped_release release;
            return limit_from_scan(std::move(points), level);
        },
        nb::arg("points"), nb::arg("level") = 0.05);

    nb::class_<SignificanceResult>(m, "SignificanceResult")
        .def_ro("observed_p", &SignificanceResult::observed_p)
        .def_ro("observed_z", &SignificanceResult::observed_z)
        .def_ro("expected_p", &SignificanceResult::expected_p)
        .def_ro("expected_z", &SignificanceResult::expected_z)
        .def_ro("q0_obs", &SignificanceResult::q0_obs)
        .def_ro("q0_asimov", &SignificanceResult::q0_asimov)
        .def_prop_ro(
            "convention",
            [](const SignificanceResult& r) { return to_string(r.convention); })
        .def_prop_ro("expected",
                     [](const SignificanceResult& r) { return to_string(r.expected); })
        .def_ro("valid", &SignificanceResult::valid)
        .def_ro("message", &SignificanceResult::message);
    m.def(
        "significance",
        [](const Model& model, std::vector<double> data, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed,
           const std::string& convention, const std::string& expected) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            const Convention c = parse_convention(convention);
            const ExpectedAsimov e = parse_expected(expected);
            nb::gil_scoped_release release;
            return significance(model, data, o, c, e);
        },
        nb::arg("model"), nb::arg("data"), HIFIT_FIT_ARGS,
        nb::arg("convention") = "auto", nb::arg("expected") = "auto");

    m.def(
        "asimov_data",
        [](const Model& model, std::vector<double> data, double mu,
           const std::string& kind, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            const ExpectedAsimov e = parse_expected(kind);
            FitResult generating;
            std::vector<double> out;
            {
                nb::gil_scoped_release release;
                out = asimov_data(model, data, mu, e, o, &generating);
            }
            return std::make_pair(std::move(out), std::move(generating));
        },
        nb::arg("model"), nb::arg("data"), nb::arg("mu"), nb::arg("kind"),
        HIFIT_FIT_ARGS);

    nb::class_<ScanResult>(m, "ScanResult")
        .def_ro("pars", &ScanResult::pars)
        .def_ro("values_x", &ScanResult::values_x)
        .def_ro("values_y", &ScanResult::values_y)
        .def_ro("twice_nll", &ScanResult::twice_nll)
        .def_ro("delta_twice_nll", &ScanResult::delta_twice_nll)
        .def_ro("valid", &ScanResult::valid)
        .def_ro("best", &ScanResult::best);
    m.def(
        "scan",
        [](const Model& model, std::vector<double> data, std::vector<std::size_t> pars,
           std::vector<double> values_x, std::vector<double> values_y,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed, int jobs) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            if (pars.size() == 1) return scan(model, data, pars[0], values_x, o, jobs);
            if (pars.size() != 2)
                throw InvalidArgument("scans take one or two parameters");
            return scan2d(model, data, pars[0], values_x, pars[1], values_y, o, jobs);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("pars"), nb::arg("values_x"),
        nb::arg("values_y"), HIFIT_FIT_ARGS, nb::arg("jobs") = 1);

    // The steps of a scan, for points spread over processes (hifit.executor).
    m.def(
        "scan_best",
        [](const Model& model, std::vector<double> data, ScanGrid grid,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return scan_best(model, data, grid, o);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("grid"), HIFIT_FIT_ARGS);
    m.def(
        "scan_segments",
        [](const Model& model, std::vector<double> data, ScanGrid grid,
           const FitResult& best, std::size_t first, std::size_t last,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return scan_segments(model, data, grid, o, best, first, last);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("grid"), nb::arg("best"),
        nb::arg("first"), nb::arg("last"), HIFIT_FIT_ARGS);
    m.def(
        "scan_finish",
        [](const Model& model, std::vector<double> data, ScanGrid grid,
           const FitResult& best, std::vector<FitResult> fits, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return scan_finish(model, data, grid, o, best, fits);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("grid"), nb::arg("best"),
        nb::arg("fits"), HIFIT_FIT_ARGS);
    m.attr("scan_segment_points") = kScanSegment;
    nb::class_<ScanGrid>(m, "ScanGrid")
        .def(nb::init<>())
        .def("__init__",
             [](ScanGrid* g, std::vector<std::size_t> pars, std::vector<double> x,
                std::vector<double> y) {
                 new (g) ScanGrid{std::move(pars), std::move(x), std::move(y)};
             })
        .def("__getstate__",
             [](const ScanGrid& g) {
                 return std::make_tuple(g.pars, g.values_x, g.values_y);
             })
        .def("__setstate__",
             [](ScanGrid& g,
                const std::tuple<std::vector<std::size_t>, std::vector<double>,
                                 std::vector<double>>& t) {
                 new (&g) ScanGrid{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
             })
        .def_ro("pars", &ScanGrid::pars);
    m.def(
        "profile_fit",
        [](const Model& model, std::vector<double> data, std::size_t par, double value,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed, int max_iterations, double edm_tolerance,
           std::optional<FitResult> free) {
            FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            o.max_iterations = max_iterations;
            o.edm_tolerance = edm_tolerance;
            nb::gil_scoped_release release;
            return profile_fit(model, data, par, value, o, free ? &*free : nullptr);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("par"), nb::arg("value"),
        HIFIT_FIT_ARGS, nb::arg("max_iterations") = 500,
        nb::arg("edm_tolerance") = 1e-9, nb::arg("free") = nb::none());

    nb::class_<MinosResult>(m, "MinosResult")
        .def_ro("lower", &MinosResult::lower)
        .def_ro("upper", &MinosResult::upper)
        .def_ro("lower_at_bound", &MinosResult::lower_at_bound)
        .def_ro("upper_at_bound", &MinosResult::upper_at_bound)
        .def_ro("valid", &MinosResult::valid)
        .def_ro("message", &MinosResult::message)
        .def_ro("best", &MinosResult::best)
        .def_ro("improved_best", &MinosResult::improved_best);
    m.def(
        "minos",
        [](const Model& model, std::vector<double> data, const FitResult& best,
           std::size_t par, double delta, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return minos(model, data, best, par, delta, o);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("best"), nb::arg("par"),
        nb::arg("delta"), HIFIT_FIT_ARGS);

    nb::class_<ImpactResult>(m, "ImpactResult")
        .def_ro("pars", &ImpactResult::pars)
        .def_ro("prefit_up", &ImpactResult::prefit_up)
        .def_ro("prefit_down", &ImpactResult::prefit_down)
        .def_ro("postfit_up", &ImpactResult::postfit_up)
        .def_ro("postfit_down", &ImpactResult::postfit_down)
        .def_prop_ro("prefit_up_clipped",
                     [](const ImpactResult& r) { return r.prefit_up_clipped; })
        .def_prop_ro("prefit_down_clipped",
                     [](const ImpactResult& r) { return r.prefit_down_clipped; })
        .def_prop_ro("postfit_up_clipped",
                     [](const ImpactResult& r) { return r.postfit_up_clipped; })
        .def_prop_ro("postfit_down_clipped",
                     [](const ImpactResult& r) { return r.postfit_down_clipped; })
        .def_ro("refits", &ImpactResult::refits)
        .def_ro("clipped", &ImpactResult::clipped)
        .def_ro("cov_prefit", &ImpactResult::cov_prefit)
        .def_ro("cov_postfit", &ImpactResult::cov_postfit)
        .def_ro("postfit_down_shift", &ImpactResult::postfit_down_shift)
        .def_ro("postfit_up_shift", &ImpactResult::postfit_up_shift)
        .def_ro("postfit_down_fit", &ImpactResult::postfit_down_fit)
        .def_ro("postfit_up_fit", &ImpactResult::postfit_up_fit)
        .def_ro("best", &ImpactResult::best)
        .def_ro("failed_fits", &ImpactResult::failed_fits)
        .def_ro("valid", &ImpactResult::valid)
        .def_ro("message", &ImpactResult::message);
    m.def(
        "impacts",
        [](const Model& model, std::vector<double> data, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed,
           int jobs, std::optional<FitResult> best, bool prefit, double profile_delta,
           bool keep_fits, std::size_t begin, std::optional<std::size_t> end) {
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            ImpactOptions how{prefit, profile_delta, keep_fits};
            how.begin = begin;
            if (end) how.end = *end;
            nb::gil_scoped_release release;
            return impacts(model, data, o, jobs, best ? &*best : nullptr, how);
        },
        nb::arg("model"), nb::arg("data"), HIFIT_FIT_ARGS, nb::arg("jobs") = 1,
        nb::arg("best") = nb::none(), nb::arg("prefit") = true,
        nb::arg("profile_delta") = 0.0, nb::arg("keep_fits") = false,
        nb::arg("begin") = 0, nb::arg("end") = nb::none());
    m.def("prefit_uncertainties", &prefit_uncertainties, nb::arg("model"));

    nb::class_<GoodnessOfFit>(m, "GoodnessOfFit")
        .def_ro("twice_delta_nll", &GoodnessOfFit::twice_delta_nll)
        .def_ro("ndof", &GoodnessOfFit::ndof)
        .def_ro("p_value", &GoodnessOfFit::p_value);
    m.def(
        "goodness_of_fit",
        [](const Model& model, std::vector<double> data, const FitResult& best,
           std::vector<bool> fixed) {
            return goodness_of_fit(model, data, best, fixed);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("best"), nb::arg("fixed"));

    nb::class_<ToyResult>(m, "ToyResult")
        .def_ro("q_obs", &ToyResult::q_obs)
        .def_ro("q_sb", &ToyResult::q_sb)
        .def_ro("q_b", &ToyResult::q_b)
        .def_ro("cls_obs", &ToyResult::cls_obs)
        .def_ro("clsb_obs", &ToyResult::clsb_obs)
        .def_ro("clb_obs", &ToyResult::clb_obs)
        .def_ro("cls_obs_err", &ToyResult::cls_obs_err)
        .def_ro("cls_exp", &ToyResult::cls_exp)
        .def_ro("failed_toys", &ToyResult::failed_toys)
        .def_ro("valid", &ToyResult::valid)
        .def_ro("message", &ToyResult::message);
    m.def(
        "hypotest_toys",
        [](const Model& model, std::vector<double> data, double mu,
           const std::string& stat, int ntoys, unsigned long long seed, int jobs,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed) {
            const TestStat s = parse_stat(stat);
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            return hypotest_toys(model, data, mu, s, ntoys, seed, jobs, o);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("mu"), nb::arg("test_stat"),
        nb::arg("ntoys"), nb::arg("seed"), nb::arg("jobs"), HIFIT_FIT_ARGS);
    // The three steps of hypotest_toys, for toys spread over processes
    // (hifit.executor): the plan travels as plain numbers.
    m.def(
        "toys_plan",
        [](const Model& model, std::vector<double> data, double mu,
           const std::string& stat, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed) {
            const TestStat s = parse_stat(stat);
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            const ToyPlan p = toys_plan(model, data, mu, s, o);
            return std::make_tuple(p.mu, p.q_obs, p.sb_pars, p.b_pars, p.message);
        },
        nb::arg("model"), nb::arg("data"), nb::arg("mu"), nb::arg("test_stat"),
        HIFIT_FIT_ARGS);
    m.def(
        "toys_range",
        [](const Model& model, double mu, const std::string& stat,
           std::vector<double> sb_pars, std::vector<double> b_pars,
           unsigned long long seed, std::size_t begin, std::size_t end,
           std::vector<double> init, std::vector<std::pair<double, double>> bounds,
           std::vector<bool> fixed) {
            ToyPlan plan;
            plan.mu = mu;
            plan.stat = parse_stat(stat);
            plan.sb_pars = std::move(sb_pars);
            plan.b_pars = std::move(b_pars);
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            ToyBatch b;
            {
                nb::gil_scoped_release release;
                b = toys_range(model, plan, seed, begin, end, o);
            }
            auto flags = [](const std::vector<char>& v) {
                return std::vector<bool>(v.begin(), v.end());
            };
            return std::make_tuple(b.q_sb, b.q_b, flags(b.ok_sb), flags(b.ok_b));
        },
        nb::arg("model"), nb::arg("mu"), nb::arg("test_stat"), nb::arg("sb_pars"),
        nb::arg("b_pars"), nb::arg("seed"), nb::arg("begin"), nb::arg("end"),
        HIFIT_FIT_ARGS);
    m.def(
        "toys_summary",
        [](double mu, const std::string& stat, double q_obs, std::string message,
           std::vector<double> q_sb, std::vector<bool> ok_sb, std::vector<double> q_b,
           std::vector<bool> ok_b) {
            if (ok_sb.size() != q_sb.size() || ok_b.size() != q_b.size() ||
                q_sb.size() != q_b.size())
                throw InvalidArgument("toys_summary: toy arrays of different sizes");
            ToyPlan plan;
            plan.mu = mu;
            plan.stat = parse_stat(stat);
            plan.q_obs = q_obs;
            plan.message = std::move(message);
            ToyBatch b{std::move(q_sb), std::move(q_b),
                       std::vector<char>(ok_sb.begin(), ok_sb.end()),
                       std::vector<char>(ok_b.begin(), ok_b.end())};
            return toys_summary(plan, b);
        },
        nb::arg("mu"), nb::arg("test_stat"), nb::arg("q_obs"), nb::arg("message"),
        nb::arg("q_sb"), nb::arg("ok_sb"), nb::arg("q_b"), nb::arg("ok_b"));
    m.def(
        "sample_toy",
        [](const Model& model, std::vector<double> pars, unsigned long long seed,
           unsigned long long index) {
            return to_numpy(sample_toy(model, pars, seed, index));
        },
        nb::arg("model"), nb::arg("pars"), nb::arg("seed"), nb::arg("index"));
    m.def(
        "sample_toy_prior",
        [](const Model& model, std::vector<double> pars, std::vector<double> data,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed,
           unsigned long long seed, unsigned long long index) {
            return to_numpy(
                sample_toy_prior(model, pars, data, bounds, fixed, seed, index));
        },
        nb::arg("model"), nb::arg("pars"), nb::arg("data"), nb::arg("bounds"),
        nb::arg("fixed"), nb::arg("seed"), nb::arg("index"));
    m.def(
        "test_statistic",
        [](const Model& model, std::vector<double> data, double mu,
           const std::string& stat, std::vector<double> init,
           std::vector<std::pair<double, double>> bounds, std::vector<bool> fixed) {
            const TestStat s = parse_stat(stat);
            const FitOptions o =
                fit_options(std::move(init), std::move(bounds), std::move(fixed));
            nb::gil_scoped_release release;
            const TestStatResult r = test_statistic(model, data, mu, s, o);
            return nb::make_tuple(r.value, r.valid());
        },
        nb::arg("model"), nb::arg("data"), nb::arg("mu"), nb::arg("test_stat"),
        HIFIT_FIT_ARGS);
    // Signal grids: the background workspace and patchset once, points by name.
    nb::class_<SignalGrid>(m, "SignalGrid")
        .def(
            "__init__",
            [](SignalGrid* self, const Workspace& background, const PatchSet& patchset,
               double mu, const std::string& stat) {
                GridOptions o;
                o.mu = mu;
                o.stat = parse_stat(stat);
                nb::gil_scoped_release release;
                new (self) SignalGrid(background, patchset, o);
            },
            nb::arg("background"), nb::arg("patchset"), nb::arg("mu"),
            nb::arg("test_stat"))
        .def("run", &SignalGrid::run, nb::arg("patches"), nb::arg("jobs") = 1,
             Release())
        .def("run_range", &SignalGrid::run_range, nb::arg("begin"), nb::arg("end"),
             nb::arg("jobs") = 1, Release());
}

} // namespace hifit::bindings
