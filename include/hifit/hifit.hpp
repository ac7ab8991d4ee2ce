#pragma once
#include <hifit/errors.hpp>
#include <hifit/fit.hpp>
#include <hifit/interpolation.hpp>
#include <hifit/model.hpp>
#include <hifit/spec.hpp>
#include <hifit/workspace.hpp>
