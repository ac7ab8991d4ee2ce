// Fit a pyhf workspace from C++ alone: hifit_fit_example WORKSPACE.json
#include <hifit/hifit.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s WORKSPACE.json\n", argv[0]);
        return 2;
    }
    try {
        const auto workspace = hifit::Workspace::load(argv[1]);
        const auto model = workspace.model();
        const auto data = workspace.data(model);
        const auto result = hifit::fit(model, data);
        for (std::size_t i = 0; i < model.npars(); ++i) {
            std::printf("%-30s %12.6f +- %.6f\n", model.par_names()[i].c_str(),
                        result.bestfit[i], result.uncertainty[i]);
        }
        std::printf("twice_nll = %.10f (%s, %d iterations)\n", result.twice_nll,
                    result.message.c_str(), result.iterations);
        return result.valid ? 0 : 1;
    } catch (const hifit::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
}
