# timeseries_refs.py: the reference values of test_timeseries.c by a route independent of the
# kernels (Gauss-Legendre quadrature of the chi-square and beta densities, bisection for the
# LR root; numpy only). Run: python3 tests/unit/timeseries_refs.py (~15 s).
import math, numpy as np
xg, wg = np.polynomial.legendre.leggauss(30)
def integ(logpdf, a, b, panels=4000):
    edges = np.linspace(a, b, panels + 1)
    tot = 0.0
    for i in range(panels):
        lo, hi = edges[i], edges[i+1]
        t = 0.5*(hi-lo)*xg + 0.5*(hi+lo)
        tot += 0.5*(hi-lo)*np.sum(wg*np.exp(logpdf(t)))
    return tot
def chi2_sf(x, f):
    k = f/2
    lp = lambda t: (k-1)*np.log(t) - t/2 - k*math.log(2) - math.lgamma(k)
    # upper limit far in the tail
    return integ(lp, x, x + 40*math.sqrt(2*f) + 400, 8000)
def beta_lp(a, b):
    c = math.lgamma(a+b) - math.lgamma(a) - math.lgamma(b)
    return lambda t: c + (a-1)*np.log(t) + (b-1)*np.log1p(-t)
def f_tails(r, d1, d2):
    a, b = d1/2, d2/2
    x0 = d1*r/(d1*r+d2)
    lp = beta_lp(a, b)
    # graded panels: split at the mode region
    lo = integ(lp, 1e-300 if a >= 1 else 0, x0, 6000)
    hi = integ(lp, x0, 1 - 1e-16, 6000)
    return lo, hi
def lr_p(y, m, N, L):
    r = y/m
    h = lambda r: math.log(r) - (N+1)*math.log(r+N)
    t = h(r)
    if r < 1:
        lo_, hi_ = 1.0, 2.0
        while h(hi_) > t: hi_ *= 2
        for _ in range(300):
            mid = 0.5*(lo_+hi_)
            if h(mid) > t: lo_ = mid
            else: hi_ = mid
        rl, rh = r, 0.5*(lo_+hi_)
    else:
        lo_, hi_ = 0.5, 1.0
        while h(lo_) > t: lo_ /= 2
        for _ in range(300):
            mid = 0.5*(lo_+hi_)
            if h(mid) > t: hi_ = mid
            else: lo_ = mid
        rl, rh = 0.5*(lo_+hi_), r
    return f_tails(rl, 2*L, 2*L*N)[0] + f_tails(rh, 2*L, 2*L*N)[1]
if __name__ == '__main__':
    for x, f in [(0.5,1.0),(3.84,1.0),(30.0,3.0),(150.0,4.0),(80.0,99.0),(2.0,7.0)]:
        print('chi2', x, f, repr(chi2_sf(x, f)))
    for r, d1, d2 in [(0.2,8.0,80.0),(2.5,8.0,80.0),(9.0,8.0,80.0),(1.0,2.0,2.0),(0.01,8.8,440.0),(3.3,2.0,1000.0)]:
        print('F', r, d1, d2, *map(repr, f_tails(r, d1, d2)))
    for y, m, N, L in [(0.5,1.0,10,4.0),(2.0,1.0,10,4.0),(0.2,1.0,5,4.4),(0.1,1.0,40,4.4),(4.0,1.0,40,4.4),(1.3,1.0,1,1.0),(0.05,1.0,100,10.0)]:
        print('LR', y, m, N, L, repr(lr_p(y, m, N, L)))
