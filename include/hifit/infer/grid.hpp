// Signal grids: the asymptotic hypothesis test of every patch of a patchset at one POI
// value, with the background-only workspace parsed and fitted once.
#pragma once

#include <hifit/histfactory/workspace.hpp>
#include <hifit/infer/test_statistics.hpp>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hifit {

struct GridOptions {
    double mu = 1.0; // the tested POI value
    TestStat stat = TestStat::qmu_tilde;
    ModelOptions model; // measurement and interpolation codes (the POI: measurement's)
};

// A patch's hypothesis test starts its fits from one shared point: the fit of the
// background-only workspace to data, mapped by parameter name onto the patched model
// (POI at 0, parameters the background lacks at their initial values); the fits at
// POI = mu also run from the model's initial values (pyhf's start), because for some
// patches the signal moves that minimum into another basin. Each point
// depends only on its own patch, never on another point, so any split of the patches
// over threads, chunks or processes gives the same results. A point whose warm-started
// fits fail, or disagree with each other (a conditional fit below the free one), is
// recomputed from scratch with the general AsymptoticCalculator.
class SignalGrid {
  public:
    SignalGrid(Workspace background, PatchSet patchset, GridOptions options = {});

    const PatchSet& patchset() const { return patchset_; }
    // Thread safe: each call builds its own model and likelihoods.
    HypoTestResult point(std::string_view patch) const;
    // point() of each name, in order, on `jobs` threads (<= 0: every core).
    std::vector<HypoTestResult> run(const std::vector<std::string>& patches,
                                    int jobs = 1) const;
    // The patches [begin, end) in patchset order (an executor's chunk).
    std::vector<HypoTestResult> run_range(std::size_t begin, std::size_t end,
                                          int jobs = 1) const;

  private:
    Workspace background_;
    PatchSet patchset_;
    GridOptions options_;
    // the background-only fit to data by parameter name (empty if it failed)
    std::unordered_map<std::string, double> start_;
};

} // namespace hifit
