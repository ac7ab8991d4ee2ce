// Combine's HybridNew in its LHC mode (--LHCmode LHC-limits): frequentist toys and
// CLs with its Monte-Carlo error at each signal strength, and the upper-limit search.
#pragma once

#include <hifit/fit/minimizer.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace hifit {

// One batch of HybridNew toys: toy i < n_sb is thrown at sb_gen, the others at b_gen,
// from generator stream (seed, first_stream + i), and fitted with the LHC statistic
// at r starting from where it was thrown.
struct HybridToyBatch {
    double r = 0.0;
    std::vector<double> sb_gen, b_gen;
    std::size_t n_sb = 0, total = 0;
    unsigned long long seed = 0, first_stream = 0;
};
// q and converged of toys [begin, end) of `batch`; `base` as given to HybridNew. A
// toy's numbers depend on the batch and its index alone.
void hybrid_new_toys(const Model& model, const FitOptions& base,
                     const HybridToyBatch& batch, std::size_t begin, std::size_t end,
                     std::vector<double>& q, std::vector<char>& ok);

struct HybridNewOptions {
    double cl = 0.95;
    int toys = 500;                  // -T: signal+background toys per batch
    bool full_b_toys = false;        // --fullBToys; else a quarter as many b-only toys
    double cls_acc = 0.005;          // --clsAcc; 0: no adaptive batches
    double r_abs_acc = 0.1;          // --rAbsAcc
    double r_rel_acc = 0.05;         // --rRelAcc
    int iterations = 1;              // -i: batches per point without adaptive toys
    double expected_quantile = -1.0; // --expectedFromGrid: q_obs from the b toys
    bool cls_quantiles = true;       // --clsQuantiles: that quantile of CLs, not of q_b
    bool cls = true;                 // --rule CLs (false: CLsplusb)
    unsigned long long seed = 123456;
    int jobs = 1;
    // set: runs each batch's toys (elsewhere: hifit.executor), filling q and ok for
    // toys [0, batch.total) as hybrid_new_toys does; unset: `jobs` threads
    std::function<void(const HybridToyBatch&, std::vector<double>& q,
                       std::vector<char>& ok)>
        run_toys;
};

// One signal strength: the test statistic on data and its toy distributions.
struct HybridPoint {
    double r = 0.0;
    double q_obs = 0.0; // 2 (NLL(r) - NLL(r-hat)), r-hat in [POI low, r]
    std::vector<double> q_sb, q_b;
    double cls = 0.0, cls_err = 0.0, clsb = 0.0, clsb_err = 0.0, clb = 0.0,
           clb_err = 0.0;
    int failed_toys = 0;
    bool valid = false;
    std::string message;
};

struct HybridLimit {
    double limit = 0.0, limit_err = 0.0;
    std::vector<HybridPoint> points; // in the order they were evaluated
    bool valid = false;
    std::string message;
};

// Toys are generated at the fits to data with r fixed at the tested value (s+b) and at
// 0 (b-only), the auxiliary data drawn around them (Combine's fitNuisances=1,
// generateExternalMeasurements=1, generateNuisances=0); each toy is then fitted with
// the LHC test statistic. CLs+b = P(q_sb >= q_obs), CLb = P(q_b >= q_obs), CLs their
// ratio, with binomial errors combined as RooStats' HypoTestResult does.
class HybridNew {
  public:
    HybridNew(const Model& model, std::span<const double> data, FitOptions base,
              HybridNewOptions options);
    // CLs at r; adaptive: more batches while |CLs - target| < 3 err and err >= clsAcc.
    const HybridPoint& eval(double r, bool adaptive = false, double target = -1.0);
    // Combine's runLimit: bracket [r_min, r_max] (doubling r_max up to 6 times),
    // bisect to rAbsAcc/rRelAcc, then fit CLs(r) = target exp(p1 (r - limit)) around
    // the crossing.
    HybridLimit limit(double r_min, double r_max);

  private:
    void add_batch(HybridPoint& point, std::size_t batch);
    void update(HybridPoint& point) const;
    Model model_;
    std::vector<double> data_;
    FitOptions options_;
    HybridNewOptions opt_;
    std::size_t poi_;
    std::map<double, HybridPoint> points_;
    std::map<double, std::size_t> batches_;
    std::map<double, std::vector<double>> sb_gen_; // s+b toys generated there, by r
    std::vector<double> b_gen_;                    // b-only toys generated there
    std::string b_gen_message_;
    std::vector<double> order_;
};

} // namespace hifit
