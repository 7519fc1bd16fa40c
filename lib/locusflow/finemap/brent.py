"""Brent's one-dimensional minimiser exactly as R's ``optimize`` / ``optim(method = "Brent")``.

A line-for-line port of ``Brent_fmin`` in R's ``src/library/stats/src/optimize.c`` (after Brent 1973,
*Algorithms for Minimization without Derivatives*, ch. 5, and netlib ``fmin.f``): golden-section steps
with parabolic interpolation, stopping when ``|x - (a+b)/2| <= 2 tol1 - (b-a)/2`` with
``tol1 = sqrt(eps) |x| + tol/3``. ``optim(method = "Brent")`` calls it with ``tol = sqrt(eps)``
(``control$reltol``) and ignores the starting value; non-finite objective values are replaced by
the largest double, as R's ``fcn1`` does. Porting it (rather than calling scipy's ``brent``) makes
susieR's prior-variance estimate reproducible to the last digits.
"""
from __future__ import annotations

import math
import sys

DBL_EPSILON = sys.float_info.epsilon
DBL_MAX = sys.float_info.max
R_RELTOL = math.sqrt(DBL_EPSILON)   # optim's control$reltol default


def brent_fmin(f, lower: float, upper: float, tol: float = R_RELTOL) -> float:
    """Argmin of ``f`` on [lower, upper] (R's ``Brent_fmin``).

    Golden-section steps with parabolic interpolation; non-finite values of ``f`` count as the largest
    double, as R's ``fcn1`` does.

    Parameters
    ----------
    f : callable
        Objective, ``f(x) -> float``.
    lower, upper : float
        Ends of the search interval.
    tol : float
        Tolerance ``tol`` of R's ``Brent_fmin``; the default ``sqrt(eps)`` is ``optim``'s ``control$reltol``.

    Returns
    -------
    float
        The minimiser found, to within ``2 (sqrt(eps) |x| + tol/3)``.

    References
    ----------
    R ``src/library/stats/src/optimize.c`` ``Brent_fmin``; Brent (1973), *Algorithms for Minimization
    without Derivatives*, ch. 5 (Brent's method).
    """
    def fv_(x):
        v = float(f(x))
        return v if math.isfinite(v) else DBL_MAX

    c = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(DBL_EPSILON)
    a, b = lower, upper
    v = a + c * (b - a)
    w = x = v
    d = e = 0.0
    fx = fv_(x)
    fv = fw = fx
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            break
        p = q = r = 0.0
        if abs(e) > tol1:  # fit parabola
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)   # golden-section step
            d = c * e
        else:                                    # parabolic-interpolation step
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = fv_(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return x
