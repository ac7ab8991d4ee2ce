// A compiled, immutable binned likelihood model and its evaluation context.
#pragma once

#include <hifit/histfactory/spec.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hifit {

enum class NormsysCode { code1, code4 };
enum class HistosysCode { code0, code2, code4p };

struct ModelOptions {
    std::string measurement;             // empty: the first measurement
    std::optional<std::string> poi_name; // unset: the measurement's POI; "": no POI
    NormsysCode normsys = NormsysCode::code4;
    HistosysCode histosys = HistosysCode::code4p;
};

enum class Constraint { none, normal, poisson };

const char* to_string(Constraint constraint);

// One named parameter set (scalar or one entry per bin), in pyhf's parameter order.
struct ParamSetInfo {
    std::string name;
    std::size_t offset = 0;
    std::size_t size = 1;
    Constraint constraint = Constraint::none;
    std::vector<ModifierType> types; // modifier types sharing this name, sorted
};

// Whose semantics the main terms follow: pyhf's HistFactory (workspaces) or
// Combine's text2workspace model (datacards).
enum class ModelKind { histfactory, combine };

const char* to_string(ModelKind kind);

struct ModelData; // compiled structure-of-arrays, private to the core

class Model {
  public:
    // Compiles a workspace spec (pyhf semantics) into flat arrays.
    static Model compile(const WorkspaceSpec& spec, const ModelOptions& options = {});
    // Wraps arrays compiled elsewhere in the core (e.g. Combine datacards).
    static Model from_compiled(std::shared_ptr<const ModelData> data);

    std::size_t npars() const;
    std::size_t nmain() const; // main bins, channels in sorted order
    std::size_t naux() const;  // auxiliary data, in pyhf's auxdata order
    const std::vector<std::string>& par_names() const;
    const std::vector<ParamSetInfo>& paramsets() const;
    const ParamSetInfo& paramset(std::string_view name) const; // throws if unknown
    std::optional<std::size_t> poi_index() const;
    const std::string& poi_name() const; // empty without a POI
    const std::vector<double>& suggested_init() const;
    const std::vector<std::pair<double, double>>& suggested_bounds() const;
    const std::vector<bool>& suggested_fixed() const;
    const std::vector<double>& auxdata() const;
    const std::vector<std::string>& channels() const; // sorted
    const std::vector<std::size_t>& channel_nbins() const;
    const std::vector<std::string>& samples() const; // sorted union over channels
    const std::string& measurement_name() const;
    ModelKind kind() const;
    // The same model with another scalar parameter as its POI (Combine's
    // --redefineSignalPOIs, MultiDimFit -P); shares the compiled arrays.
    Model with_poi(std::string_view name) const;

    // Main data ++ auxdata from per-channel observations given in spec order.
    std::vector<double> data(const std::vector<Observation>& observations,
                             bool include_auxdata = true) const;

    const ModelData& compiled() const { return *data_; }

  private:
    explicit Model(std::shared_ptr<const ModelData> data) : data_(std::move(data)) {}
    std::shared_ptr<const ModelData> data_;
};

// Every likelihood holds a dense nmain x npars Jacobian; a fit adds `square_matrices`
// dense npars x npars matrices (Hessian, factorizations, covariance). Throws
// InvalidModel, before anything is allocated, when they would not fit in this
// machine's physical memory, or in HIFIT_MEMORY_LIMIT bytes when that environment
// variable is set (the tests lower the limit this way).
void check_dense_memory(const Model& model, int square_matrices);
// The fit's npars x npars matrices alive at its peak: the Hessian, its free block, the
// Cholesky factor, the damped copy and its factor, the eigen-decomposition (two),
// then the covariance and correlation kept in the result.
inline constexpr int kFitSquareMatrices = 8;

// Evaluation context for one data set: owns scratch buffers so evaluation allocates
// nothing. Cheap to create; use one per thread. All results are for -2 ln L.
class Likelihood {
  public:
    Likelihood(const Model& model, std::span<const double> data);
    ~Likelihood();
    Likelihood(Likelihood&&) noexcept;
    Likelihood& operator=(Likelihood&&) noexcept;

    const Model& model() const { return model_; }
    std::span<const double> data() const { return data_; }
    void set_data(std::span<const double> data);

    double twice_nll(std::span<const double> pars);
    // grad has npars entries.
    double twice_nll_grad(std::span<const double> pars, std::span<double> grad);
    // hess is npars x npars, row-major (symmetric).
    double twice_nll_grad_hess(std::span<const double> pars, std::span<double> grad,
                               std::span<double> hess);
    // As twice_nll_grad_hess, but hess holds the expected (Fisher) information of the
    // main terms plus the exact Hessian of the constraint terms: positive
    // semidefinite, cheaper, and exact in the limit of rates that match the data; for
    // the minimizer's steps far from the minimum. Models without it (Combine's) give
    // the exact Hessian; has_fisher_hessian() says which.
    double twice_nll_grad_fisher(std::span<const double> pars, std::span<double> grad,
                                 std::span<double> hess);
    bool has_fisher_hessian() const;
    // -2 ln L of the saturated model (every rate at its count, every constrained
    // parameter at its measurement): the part of twice_nll that depends on the data
    // only.
    double twice_nll_saturated() const;
    // -2 ln L of the constraint terms alone (with their constants), for pyhf's
    // constraint_logpdf; the main terms are twice_nll minus this.
    double twice_nll_constraints(std::span<const double> pars) const;
    // twice_nll - twice_nll_saturated, summed term by term without that subtraction.
    double twice_deviance(std::span<const double> pars);
    // Parameters profiled in closed form inside -2 ln L (Combine's Barlow-Beeston-lite
    // terms on empty bins, whose values a fit leaves at their start) set to their
    // minimising values at `pars`.
    void set_profiled_parameters(std::span<double> pars);
    // The rate of every (channel, sample, bin) cell of the compiled model.
    void cell_rates(std::span<const double> pars, std::vector<double>& out);
    // Expected main rates (nmain) and, if requested, expected auxdata (naux).
    void expected_data(std::span<const double> pars, std::span<double> out,
                       bool include_auxdata = true);

  private:
    struct Scratch;
    // -ln L minus its constant: the main terms of the model's kind plus the
    // constraint terms; grad and hess (if not empty) in -2 ln L units.
    double deviance_terms(std::span<const double> pars, std::span<double> grad,
                          std::span<double> hess, bool fisher = false);
    Model model_;
    std::vector<double> data_;
    std::unique_ptr<Scratch> scratch_;
};

} // namespace hifit
