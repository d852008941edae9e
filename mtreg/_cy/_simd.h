/* Short float64 dot / axpy for the per-task kernels, with a runtime choice of instruction set.
 *
 * The per-task designs of mtreg have short columns (tens of rows per task), so each row update
 * of a block coordinate descent makes 2 K calls on vectors of n_k entries.  A BLAS call costs
 * more than the arithmetic at that length, and the package is compiled for the baseline x86-64
 * instruction set (SSE2), on which a 4-accumulator loop runs at half the width of the machine.
 * The loops below are compiled twice: for the baseline, and (GCC or clang on x86) for AVX2 with
 * FMA; the first call picks the AVX2 version when the processor has both (and
 * MTREG_SIMD=generic is not set in the environment), through a function pointer, so the
 * package still runs on any x86-64 processor.  Both versions sum in the same order (eight
 * accumulators, combined pairwise); they differ only by FMA rounding.  The segmented versions
 * (mt_seg_dot, mt_seg_axpy) do one stacked column of all tasks in one call: task k's rows are
 * ptr[k]..ptr[k+1] (ptrdiff_t offsets, the same type as Py_ssize_t on the platforms built).
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

/* Eight accumulators: with AVX2 they are two vector registers, so consecutive fused
 * multiply-adds do not wait for each other (one register would make the loop latency-bound). */
MT_ALWAYS_INLINE double mt_dot_body(ptrdiff_t n, const double *x, const double *y)
{
    ptrdiff_t i, l, m = n - n % 8;
    double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, t = 0.0;
    for (i = 0; i < m; i += 8)
        for (l = 0; l < 8; l++)
            s[l] += x[i + l] * y[i + l];
    for (; i < n; i++)
        t += x[i] * y[i];
    return (((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))) + t;
}

/* Per-task segments of one stacked column: out[k] = x[ptr[k]:ptr[k+1]] . y[ptr[k]:ptr[k+1]]. */
MT_ALWAYS_INLINE void mt_seg_dot_body(const double *x, const double *y, const ptrdiff_t *ptr,
                                      ptrdiff_t K, double *out)
{
    for (ptrdiff_t k = 0; k < K; k++)
        out[k] = mt_dot_body(ptr[k + 1] - ptr[k], x + ptr[k], y + ptr[k]);
}

/* y[ptr[k]:ptr[k+1]] += a[k] x[ptr[k]:ptr[k+1]] for every k with a[k] != 0. */
MT_ALWAYS_INLINE void mt_seg_axpy_body(const double *x, double *y, const ptrdiff_t *ptr,
                                       ptrdiff_t K, const double *a)
{
    for (ptrdiff_t k = 0; k < K; k++) {
        if (a[k] == 0.0)
            continue;
        const double ak = a[k];
        const double *xk = x + ptr[k];
        double *yk = y + ptr[k];
        for (ptrdiff_t i = 0, n = ptr[k + 1] - ptr[k]; i < n; i++)
            yk[i] += ak * xk[i];
    }
}

MT_ALWAYS_INLINE void mt_axpy_body(ptrdiff_t n, double a, const double *x, double *y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* Each routine twice: for the baseline (_generic) and, on x86, for AVX2+FMA (_avx2). */
#define MT_ROUTINES(SUFFIX, ATTR)                                                            \
    ATTR static double mt_dot_##SUFFIX(ptrdiff_t n, const double *x, const double *y)       \
    {                                                                                       \
        return mt_dot_body(n, x, y);                                                        \
    }                                                                                       \
    ATTR static void mt_axpy_##SUFFIX(ptrdiff_t n, double a, const double *x, double *y)    \
    {                                                                                       \
        mt_axpy_body(n, a, x, y);                                                           \
    }                                                                                       \
    ATTR static void mt_seg_dot_##SUFFIX(const double *x, const double *y,                  \
                                         const ptrdiff_t *ptr, ptrdiff_t K, double *out)    \
    {                                                                                       \
        mt_seg_dot_body(x, y, ptr, K, out);                                                 \
    }                                                                                       \
    ATTR static void mt_seg_axpy_##SUFFIX(const double *x, double *y, const ptrdiff_t *ptr, \
                                          ptrdiff_t K, const double *a)                     \
    {                                                                                       \
        mt_seg_axpy_body(x, y, ptr, K, a);                                                  \
    }

MT_ROUTINES(generic, )
#if MT_SIMD_X86
MT_ROUTINES(avx2, __attribute__((target("avx2,fma"))))
#endif

static double mt_dot_first(ptrdiff_t n, const double *x, const double *y);
static void mt_axpy_first(ptrdiff_t n, double a, const double *x, double *y);
static void mt_seg_dot_first(const double *x, const double *y, const ptrdiff_t *ptr,
                             ptrdiff_t K, double *out);
static void mt_seg_axpy_first(const double *x, double *y, const ptrdiff_t *ptr, ptrdiff_t K,
                              const double *a);

/* Each extension module that includes this header has its own pointers; the first call
 * resolves them (a race between threads writes the same values). */
static double (*mt_dot)(ptrdiff_t, const double *, const double *) = mt_dot_first;
static void (*mt_axpy)(ptrdiff_t, double, const double *, double *) = mt_axpy_first;
static void (*mt_seg_dot)(const double *, const double *, const ptrdiff_t *, ptrdiff_t,
                          double *) = mt_seg_dot_first;
static void (*mt_seg_axpy)(const double *, double *, const ptrdiff_t *, ptrdiff_t,
                           const double *) = mt_seg_axpy_first;
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
        mt_seg_dot = mt_seg_dot_avx2;
        mt_seg_axpy = mt_seg_axpy_avx2;
#endif
        mt_simd_level_ = 1;
    } else {
        mt_dot = mt_dot_generic;
        mt_axpy = mt_axpy_generic;
        mt_seg_dot = mt_seg_dot_generic;
        mt_seg_axpy = mt_seg_axpy_generic;
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

static void mt_seg_dot_first(const double *x, const double *y, const ptrdiff_t *ptr,
                             ptrdiff_t K, double *out)
{
    mt_simd_level();
    mt_seg_dot(x, y, ptr, K, out);
}

static void mt_seg_axpy_first(const double *x, double *y, const ptrdiff_t *ptr, ptrdiff_t K,
                              const double *a)
{
    mt_simd_level();
    mt_seg_axpy(x, y, ptr, K, a);
}

#endif /* MTREG_SIMD_H */
