# The one BLAS shim of mtreg's kernels: level-1 routines of scipy.linalg.cython_blas
# (never threaded) with C-style arguments (values, not pointers).  Inline, nogil, float64.
from scipy.linalg cimport cython_blas


cdef inline double _dot(int n, const double* x, int incx, const double* y,
                        int incy) noexcept nogil:
    """x^T y"""
    return cython_blas.ddot(&n, <double*> x, &incx, <double*> y, &incy)


cdef inline void _axpy(int n, double a, const double* x, int incx, double* y,
                       int incy) noexcept nogil:
    """y += a x"""
    cython_blas.daxpy(&n, &a, <double*> x, &incx, y, &incy)

