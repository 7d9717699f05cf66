/* Additive (Bahdanau) attention scores and their gradients, fused into one pass each.
 *
 *   forward:   e[b,t,s] = sum_h v[h] * tanh(q[b,t,h] + k[b,s,h])
 *   backward:  y = tanh(q + k),  z = g[b,t,s] * v[h] * (1 - y^2)
 *              dq[b,t,h] = sum_s z,   dk[b,s,h] = sum_t z,   dv[h] = sum_{b,t,s} g[b,t,s] * y
 *
 * PyTorch computes the same with a (B, T, S, H) tensor that it writes and reads back about eight
 * times (the broadcast add, tanh, the v product, and in the backward pass the outer product with v,
 * tanh's derivative and two reductions); here each element is computed in registers and never
 * stored, and the backward pass recomputes tanh instead of saving it. Rows of g that are exactly
 * zero (padding, after the masked softmax) are skipped; they contribute nothing.
 *
 * Sequential loops in a fixed order: the same inputs give bitwise the same outputs on one machine.
 * Compiled and loaded by attn/fused.py; the pure PyTorch formula in attention.py is the reference
 * it is tested against and the fallback where no C compiler is found.
 */
#include <stddef.h>

/* tanh as a rational function, the approximation of Eigen's generic_fast_tanh_float (max error a few
 * float ulp); unlike libm's tanhf it vectorises, so the loops over h below become SIMD loops. */
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

void additive_forward(const float *q, const float *k, const float *v, float *scores,
                      long B, long T, long S, long H) {
    for (long b = 0; b < B; ++b) {
        for (long t = 0; t < T; ++t) {
            const float *qr = q + (b * T + t) * H;
            float *out = scores + (b * T + t) * S;
            for (long s = 0; s < S; ++s) {
                const float *kr = k + (b * S + s) * H;
                float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
                for (long h = 0; h < H; ++h)
                    acc += v[h] * fast_tanh(qr[h] + kr[h]);
                out[s] = acc;
            }
        }
    }
}

/* dq, dk and dv must be zero on entry. */
void additive_backward(const float *q, const float *k, const float *v, const float *g,
                       float *dq, float *dk, float *dv, long B, long T, long S, long H) {
    for (long b = 0; b < B; ++b) {
        for (long t = 0; t < T; ++t) {
            const float *qr = q + (b * T + t) * H;
            const float *gr = g + (b * T + t) * S;
            float *dqr = dq + (b * T + t) * H;
            for (long s = 0; s < S; ++s) {
                const float gs = gr[s];
                if (gs == 0.0f)
                    continue;
                const float *kr = k + (b * S + s) * H;
                float *dkr = dk + (b * S + s) * H;
#pragma omp simd
                for (long h = 0; h < H; ++h) {
                    const float y = fast_tanh(qr[h] + kr[h]);
                    const float z = gs * v[h] * (1.0f - y * y);
                    dqr[h] += z;
                    dkr[h] += z;
                    dv[h] += gs * y;
                }
            }
        }
    }
}
