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
