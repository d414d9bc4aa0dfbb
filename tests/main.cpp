// The Catch2 main of api_tests. Each test case runs in its own process under
// ctest (one registration per backend, see CMakeLists.txt).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
