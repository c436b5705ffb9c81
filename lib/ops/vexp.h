/* A vectorizable expf for the ops' hot loops (private to lib/ops).
 *
 * Cephes' single-precision exp: x = n ln2 + r with |r| <= ln2 / 2 (n by the
 * round-to-nearest magic constant, ln2 split in two for an exact n ln2),
 * e^r by a degree-7 polynomial, times 2^n built from the exponent bits. Only
 * +, *, compares and bit moves, so a loop of it vectorizes and gives the
 * same bits scalar or vector, on any thread count. Max error about 1 ulp
 * against the true e^x over [-87, 88]; x below -87.3 (and -inf) gives 0,
 * above 88.3 gives e^88.3 (callers pass x <= 0: softmax-style arguments). */
#ifndef AK_OPS_VEXP_H
#define AK_OPS_VEXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float ak_vexpf(float x)
{
    const float lo = -87.3f, hi = 88.3f;
    /* Branch-free clamps and the final select (masks), so that GCC
     * vectorizes a loop of calls without if-conversion. */
    int32_t xb, lob, hib;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&lob, &lo, sizeof lob);
    memcpy(&hib, &hi, sizeof hib);
    int32_t under = -(int32_t)(x < lo), over = -(int32_t)(x > hi);
    xb = (xb & ~under) | (lob & under);
    xb = (xb & ~over) | (hib & over);
    memcpy(&x, &xb, sizeof x);
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    uint32_t ti;
    memcpy(&ti, &t, sizeof ti);
    uint32_t ni = ti - 0x4B400000u; /* the integer n (mod 2^32), from t's mantissa */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits = (ni + 127u) << 23; /* unsigned: NaN inputs wrap harmlessly */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    int32_t yb;
    memcpy(&yb, &y, sizeof yb);
    yb &= ~under;
    memcpy(&y, &yb, sizeof y);
    return y;
}

/* tanh the same way (Cephes tanhf): |x| >= 0.625 as 1 - 2 / (e^{2|x|} + 1)
 * with ak_vexpf, below that x + x^3 P(x^2); the sign put back. Vectorizes
 * like ak_vexpf; max error a few ulp (tests/test_ops_fused.c). Both branches
 * are computed and one is picked by bit masks: a `?:` whose arm divides is
 * not if-converted by GCC (the division might trap), which kept every loop
 * of this function scalar. The bits are those of the `?:` form for every
 * float (checked exhaustively when the masks went in). */
static inline float ak_vtanhf(float x)
{
    float z = fabsf(x);
    float e = ak_vexpf(z + z);
    float big = 1.0f - 2.0f / (e + 1.0f);
    float s = x * x;
    float p = -5.70498872745e-3f;
    p = p * s + 2.06390887954e-2f;
    p = p * s - 5.37397155531e-2f;
    p = p * s + 1.33314422036e-1f;
    p = p * s - 3.33332819422e-1f;
    float small = p * s * z + z;
    int32_t bb, sb, xb, use_big = -(int32_t)(z >= 0.625f);
    memcpy(&bb, &big, sizeof bb);
    memcpy(&sb, &small, sizeof sb);
    memcpy(&xb, &x, sizeof xb);
    int32_t yb = (bb & use_big) | (sb & ~use_big) | (xb & INT32_MIN); /* big, small >= 0: or-ing sets the sign */
    float y;
    memcpy(&y, &yb, sizeof y);
    return y;
}

#endif
