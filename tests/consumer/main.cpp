// Fits the workspace given on the command line and prints twice_nll.
#include <hifit/hifit.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const auto ws = hifit::Workspace::load(argv[1]);
    const auto model = ws.model();
    const auto result = hifit::fit(model, ws.data(model));
    std::printf("%.12f %d\n", result.twice_nll, result.valid ? 1 : 0);
    return result.valid ? 0 : 1;
}
