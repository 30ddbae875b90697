// Clang thread-safety annotations (STYLE.md practice 14), after LevelDB's
// port/thread_annotations.h: with clang's -Wthread-safety (on in our CMake)
// a field marked GUARDED_BY(mu_) read or written without holding mu_ fails
// the build. Other compilers see empty macros.
#pragma once

#if defined(__clang__)
#define TLSGATE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TLSGATE_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) TLSGATE_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY TLSGATE_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) TLSGATE_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) TLSGATE_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) TLSGATE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) TLSGATE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) TLSGATE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) TLSGATE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS TLSGATE_THREAD_ANNOTATION(no_thread_safety_analysis)
