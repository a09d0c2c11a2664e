// Compiles toml++'s implementation into fuzz_catalog so that the TOML parser itself is
// instrumented for coverage and ASan/UBSan. The system package ships it as a shared
// library (built without instrumentation); the fuzzer's own copy of the same version's
// symbols takes precedence over it at link time.
#define TOML_IMPLEMENTATION 1
#include <toml++/toml.h>
