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

#include "fast_tanh.h"

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
