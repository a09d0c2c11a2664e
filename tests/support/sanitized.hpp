#pragma once
// Whether this build runs under a sanitizer. Such a build serves several times fewer requests
// per second, so a test whose premise is spare capacity (an island with room for a saturated
// gateway's excess) offers less load there: the premise, not the assertions, is scaled.
namespace isla::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace isla::testing
