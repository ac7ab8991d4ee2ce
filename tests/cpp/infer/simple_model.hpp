// pyhf's documented simple model (one channel, two bins, uncorrelated background),
// shared by the inference tests and the threaded tests.
#pragma once

#include <hifit/hifit.hpp>

#include <string>
#include <vector>

namespace {

const std::string kData = HIFIT_SHARED_DATA;

struct Simple {
    hifit::Workspace ws = hifit::Workspace::load(
        kData + "/pyhf/validation-workspaces/"
                "simplemodels_uncorrelated_background_doc_example.json");
    hifit::Model model = ws.model();
    std::vector<double> data = ws.data(model);
};

} // namespace
