// Pseudo-experiments and toy-based CLs.
#pragma once

#include <hifit/infer/test_statistics.hpp>

#include <array>
#include <span>
#include <string>
#include <vector>

namespace hifit {

struct ToyResult {
    double q_obs = 0.0;
    std::vector<double> q_sb; // test statistic of signal+background toys
    std::vector<double> q_b;  // of background-only toys
    double cls_obs = 0.0, clsb_obs = 0.0, clb_obs = 0.0;
    std::array<double, 5> cls_exp{};
    int failed_toys = 0;
    bool valid = false;
    std::string message;
};

// One pseudo-experiment around `pars`: Poisson main data, Gaussian / Poisson auxiliary
// data, drawn from a generator seeded by (seed, index) so results do not depend on the
// number of threads.
std::vector<double> sample_toy(const Model& model, std::span<const double> pars,
                               unsigned long long seed, unsigned long long index);

// Combine's default pseudo-experiment (without --toysFrequentist): every free
// constrained parameter drawn from its constraint around the observed auxiliary data
// (Gaussian; a Gamma of shape N + 1 for a gmN), Poisson main data at those values, the
// auxiliary data kept as observed. Same seeding as sample_toy.
std::vector<double> sample_toy_prior(const Model& model, std::span<const double> pars,
                                     std::span<const double> data,
                                     const std::vector<bool>& fixed,
                                     unsigned long long seed, unsigned long long index);

// Toy-based CLs (pyhf's ToyCalculator semantics).
ToyResult hypotest_toys(const Model& model, std::span<const double> data, double mu,
                        TestStat stat, int ntoys, unsigned long long seed = 0,
                        int jobs = 1, const FitOptions& base = {});

} // namespace hifit
