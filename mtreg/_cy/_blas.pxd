# The one BLAS shim of mtreg's kernels: routines of scipy.linalg.cython_blas with C-style
# arguments (values, not pointers).  Inline, nogil, float64.  Level 1 is never threaded; the
# level-2 ``_gemv_t`` is used once per task for full gradients (column-major storage).
from scipy.linalg cimport cython_blas


cdef inline double _dot(int n, const double* x, int incx, const double* y,
                        int incy) noexcept nogil:
    """x^T y"""
    return cython_blas.ddot(&n, <double*> x, &incx, <double*> y, &incy)


cdef inline void _axpy(int n, double a, const double* x, int incx, double* y,
                       int incy) noexcept nogil:
    """y += a x"""
    cython_blas.daxpy(&n, &a, <double*> x, &incx, y, &incy)


cdef inline void _gemv_t(int m, int n, double alpha, const double* A, int lda, const double* x,
                         int incx, double beta, double* y, int incy) noexcept nogil:
    """y = alpha A^T x + beta y, with A (m, n) column-major, leading dimension lda"""
    cdef char trans = b'T'
    cython_blas.dgemv(&trans, &m, &n, &alpha, <double*> A, &lda, <double*> x, &incx, &beta, y,
                      &incy)


cdef inline void _ger(int m, int n, double alpha, const double* x, int incx, const double* y,
                      int incy, double* A, int lda) noexcept nogil:
    """A += alpha x y^T, with A (m, n) column-major, leading dimension lda"""
    cython_blas.dger(&m, &n, &alpha, <double*> x, &incx, <double*> y, &incy, A, &lda)


# ---------------------------------------------------------------- fused float32/float64
# The same routines over ``floating`` (float -> s*, double -> d* BLAS), for kernels that run in
# the precision of the design (``dtype="float32"``); the scalars are of the arrays' type.
from cython cimport floating


cdef inline floating _xdot(int n, const floating* x, int incx, const floating* y,
                           int incy) noexcept nogil:
    """x^T y"""
    if floating is float:
        return cython_blas.sdot(&n, <float*> x, &incx, <float*> y, &incy)
    else:
        return cython_blas.ddot(&n, <double*> x, &incx, <double*> y, &incy)


cdef inline void _xaxpy(int n, floating a, const floating* x, int incx, floating* y,
                        int incy) noexcept nogil:
    """y += a x"""
    if floating is float:
        cython_blas.saxpy(&n, &a, <float*> x, &incx, y, &incy)
    else:
        cython_blas.daxpy(&n, &a, <double*> x, &incx, y, &incy)


cdef inline void _xgemv_t(int m, int n, floating alpha, const floating* A, int lda,
                          const floating* x, int incx, floating beta, floating* y,
                          int incy) noexcept nogil:
    """y = alpha A^T x + beta y, with A (m, n) column-major, leading dimension lda"""
    cdef char trans = b'T'
    if floating is float:
        cython_blas.sgemv(&trans, &m, &n, &alpha, <float*> A, &lda, <float*> x, &incx, &beta,
                          y, &incy)
    else:
        cython_blas.dgemv(&trans, &m, &n, &alpha, <double*> A, &lda, <double*> x, &incx, &beta,
                          y, &incy)


cdef inline void _xger(int m, int n, floating alpha, const floating* x, int incx,
                       const floating* y, int incy, floating* A, int lda) noexcept nogil:
    """A += alpha x y^T, with A (m, n) column-major, leading dimension lda"""
    if floating is float:
        cython_blas.sger(&m, &n, &alpha, <float*> x, &incx, <float*> y, &incy, A, &lda)
    else:
        cython_blas.dger(&m, &n, &alpha, <double*> x, &incx, <double*> y, &incy, A, &lda)


# short vectors (per-task columns): float64 through the runtime-dispatched loops of _simd.h
# (AVX2+FMA where the processor has them: at tens of entries a BLAS call costs more than the
# arithmetic); float32 through the unrolled loops below
cdef extern from "_simd.h" nogil:
    double mt_dot(Py_ssize_t n, const double* x, const double* y)
    void mt_axpy(Py_ssize_t n, double a, const double* x, double* y)
    # one stacked column of every task: out[k] = x_k . y_k, y_k += a[k] x_k (a[k] != 0)
    void mt_seg_dot(const double* x, const double* y, const Py_ssize_t* ptr, Py_ssize_t K,
                    double* out)
    void mt_seg_axpy(const double* x, double* y, const Py_ssize_t* ptr, Py_ssize_t K,
                     const double* a)
    int mt_simd_level()
    int mt_simd_set(int level)


cdef inline double _dot_unrolled(Py_ssize_t n, const floating* x,
                                 const floating* y) noexcept nogil:
    """x^T y with four float64 accumulators."""
    cdef Py_ssize_t i, m = n - n % 4
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    for i in range(0, m, 4):
        s0 += x[i] * y[i]
        s1 += x[i + 1] * y[i + 1]
        s2 += x[i + 2] * y[i + 2]
        s3 += x[i + 3] * y[i + 3]
    for i in range(m, n):
        s0 += x[i] * y[i]
    return (s0 + s1) + (s2 + s3)


cdef inline double _dot_short(Py_ssize_t n, const floating* x, const floating* y) noexcept nogil:
    """x^T y for short vectors (per-task columns), accumulated in float64, no BLAS call."""
    if floating is double:
        return mt_dot(n, x, y)
    else:
        return _dot_unrolled(n, x, y)


cdef inline void _axpy_loop(Py_ssize_t n, double a, const floating* x, floating* y) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating af = <floating> a
    for i in range(n):
        y[i] += af * x[i]


cdef inline void _axpy_short(Py_ssize_t n, double a, const floating* x,
                             floating* y) noexcept nogil:
    """y += a x for short vectors (in the precision of x and y)."""
    if floating is double:
        mt_axpy(n, a, x, y)
    else:
        _axpy_loop(n, a, x, y)
