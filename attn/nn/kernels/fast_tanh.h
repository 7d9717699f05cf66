/* fast_tanh: tanh that vectorises, shared by the kernels in this folder (included, not compiled alone). */
#ifndef ATTN_FAST_TANH_H
#define ATTN_FAST_TANH_H

/* tanh as a rational function, the approximation of Eigen's generic_fast_tanh_float (max error a few
 * float ulp); unlike libm's tanhf it vectorises, so the loops that call it become SIMD loops. */
static inline float fast_tanh(float x) {
    const float clamp = 7.90531110763549805f;
    x = x > clamp ? clamp : (x < -clamp ? -clamp : x);
    const float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}

#endif
