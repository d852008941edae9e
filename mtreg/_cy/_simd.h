/* Short float64 dot / axpy for the per-task kernels, with a runtime choice of instruction set.
 *
 * The per-task designs of mtreg have short columns (tens of rows per task), so each row update
 * of a block coordinate descent makes 2 K calls on vectors of n_k entries.  A BLAS call costs
 * more than the arithmetic at that length, and the package is compiled for the baseline x86-64
 * instruction set (SSE2), on which a 4-accumulator loop runs at half the width of the machine.
 * The loops below are compiled twice: for the baseline, and (GCC or clang on x86) for AVX2 with
 * FMA; the first call picks the AVX2 version when the processor has both (and
 * MTREG_SIMD=generic is not set in the environment), through a function pointer, so the
 * package still runs on any x86-64 processor.  Both versions sum in the same order (four
 * accumulators, combined as (s0 + s1) + (s2 + s3)); they differ only by FMA rounding.
 */
#ifndef MTREG_SIMD_H
#define MTREG_SIMD_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define MT_SIMD_X86 1
#else
#define MT_SIMD_X86 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MT_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define MT_ALWAYS_INLINE static inline
#endif

MT_ALWAYS_INLINE double mt_dot_body(ptrdiff_t n, const double *x, const double *y)
{
    ptrdiff_t i, m = n - n % 4;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (i = 0; i < m; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; i++)
        s0 += x[i] * y[i];
    return (s0 + s1) + (s2 + s3);
}

MT_ALWAYS_INLINE void mt_axpy_body(ptrdiff_t n, double a, const double *x, double *y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static double mt_dot_generic(ptrdiff_t n, const double *x, const double *y)
{
    return mt_dot_body(n, x, y);
}

static void mt_axpy_generic(ptrdiff_t n, double a, const double *x, double *y)
{
    mt_axpy_body(n, a, x, y);
}

#if MT_SIMD_X86
__attribute__((target("avx2,fma"))) static double mt_dot_avx2(ptrdiff_t n, const double *x,
                                                              const double *y)
{
    return mt_dot_body(n, x, y);
}

__attribute__((target("avx2,fma"))) static void mt_axpy_avx2(ptrdiff_t n, double a,
                                                             const double *x, double *y)
{
    mt_axpy_body(n, a, x, y);
}
#endif

static double mt_dot_first(ptrdiff_t n, const double *x, const double *y);
static void mt_axpy_first(ptrdiff_t n, double a, const double *x, double *y);

/* Each extension module that includes this header has its own pointers; the first call
 * resolves them (a race between threads writes the same values). */
static double (*mt_dot)(ptrdiff_t, const double *, const double *) = mt_dot_first;
static void (*mt_axpy)(ptrdiff_t, double, const double *, double *) = mt_axpy_first;
static int mt_simd_level_ = -1;

/* 1 to use AVX2+FMA (only if the processor has both), 0 for the baseline; returns the level
 * in use. */
static int mt_simd_set(int level)
{
    int avx2 = 0;
#if MT_SIMD_X86
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    if (level && avx2) {
#if MT_SIMD_X86
        mt_dot = mt_dot_avx2;
        mt_axpy = mt_axpy_avx2;
#endif
        mt_simd_level_ = 1;
    } else {
        mt_dot = mt_dot_generic;
        mt_axpy = mt_axpy_generic;
        mt_simd_level_ = 0;
    }
    return mt_simd_level_;
}

/* The level chosen at the first call: the best available unless MTREG_SIMD=generic. */
static int mt_simd_level(void)
{
    if (mt_simd_level_ < 0) {
        const char *env = getenv("MTREG_SIMD");
        mt_simd_set(!(env && strcmp(env, "generic") == 0));
    }
    return mt_simd_level_;
}

static double mt_dot_first(ptrdiff_t n, const double *x, const double *y)
{
    mt_simd_level();
    return mt_dot(n, x, y);
}

static void mt_axpy_first(ptrdiff_t n, double a, const double *x, double *y)
{
    mt_simd_level();
    mt_axpy(n, a, x, y);
}

#endif /* MTREG_SIMD_H */
