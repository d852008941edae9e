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
