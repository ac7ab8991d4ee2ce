// The one header C++ users include: the whole public API, folder by folder.
#pragma once
#include <hifit/errors.hpp>

#include <hifit/histfactory/interpolation.hpp>
#include <hifit/histfactory/spec.hpp>
#include <hifit/histfactory/workspace.hpp>

#include <hifit/combine/datacard.hpp>

#include <hifit/likelihood/model.hpp>

#include <hifit/fit/minimizer.hpp>

#include <hifit/infer/grid.hpp>
#include <hifit/infer/impacts.hpp>
#include <hifit/infer/limits.hpp>
#include <hifit/infer/scans.hpp>
#include <hifit/infer/stats.hpp>
#include <hifit/infer/test_statistics.hpp>
#include <hifit/infer/toys.hpp>

#include <hifit/workflow/prediction.hpp>
#include <hifit/workflow/templates.hpp>
