// Precompiled for the test programs (cmake/pch.cmake): the common set and GoogleTest.
#include "common.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
