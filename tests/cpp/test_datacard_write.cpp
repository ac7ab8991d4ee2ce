#include <hifit/datacard.hpp>

#include <gtest/gtest.h>
