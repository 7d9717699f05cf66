/* A GRU layer's recurrence over all time steps, forward and backward, in one call each.
 *
 * The equations of torch.nn.GRU (gate order r, z, n in the weight rows):
 *   gi_t = W_ih x_t + b_ih                      computed by the caller for all t at once (one matmul)
 *   gh_t = W_hh h_{t-1} + b_hh                  one (B x H) . (H x 3H) matmul per step, here
 *   r = sigmoid(gi_r + gh_r)    z = sigmoid(gi_z + gh_z)    n = tanh(gi_n + r * gh_n)
 *   h_t = (1 - z) * n + z * h_{t-1}
 * Backward, with dh the gradient reaching h_t (from the output at t and from step t+1):
 *   dn = dh (1 - z)    dz = dh (h_{t-1} - n)    da_n = dn (1 - n^2)
 *   da_r = da_n gh_n r (1 - r)    da_z = dz z (1 - z)
 *   dgi_t = [da_r, da_z, da_n]    dgh_t = [da_r, da_z, da_n r]
 *   dh_{t-1} = dh z + dgh_t W_hh
 * dW_hh = sum_t dgh_t^T h_{t-1} and db_hh = sum_t dgh_t are left to the caller: one large matmul over
 * all steps instead of one small one per step.
 *
 * Why: PyTorch runs this recurrence as about 15 small operators per step forward and 30 backward,
 * each paying a few microseconds of dispatch, autograd bookkeeping and memory traffic; at the sizes
 * a lecture trains (batch 64, hidden 128) that overhead was several times the arithmetic. Here each
 * step is one matrix product plus one pass over the gates.
 *
 * Lengths: with `lengths` given, row b is updated only at positions t < lengths[b] -- the same as
 * PyTorch's packed sequences: a reversed direction starts at the row's last real token, the state
 * carried past the end is the last real one, and outputs at padding are zero.
 *
 * The matrix products call the BLAS sgemm_ handed in by the caller (PyTorch's own MKL, so the same
 * thread setting applies); with none, a plain C loop does them. Loops run in a fixed order, so the
 * same inputs give bitwise the same outputs on one machine.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fast_tanh.h"

typedef void (*sgemm_fn)(const char *transa, const char *transb, const int *m, const int *n,
                         const int *k, const float *alpha, const float *a, const int *lda,
                         const float *b, const int *ldb, const float *beta, float *c, const int *ldc);

/* sigmoid(x) = (1 + tanh(x / 2)) / 2, with the vectorising tanh of fast_tanh.h. */
static inline float fast_sigmoid(float x) { return 0.5f + 0.5f * fast_tanh(0.5f * x); }

/* gh (B x 3H) += h (B x H, row stride ldh) . W^T, W (3H x H) row-major. */
static void matmul_state_weights(sgemm_fn sgemm, const float *h, long ldh, const float *W, float *gh,
                                 long B, long H) {
    if (sgemm) {
        /* Column-major view: gh^T (3H x B) = W (from W^T stored H x 3H: 'T') . h^T (H x B: 'N'). */
        const int m = (int)(3 * H), n = (int)B, k = (int)H, lda = (int)H, ldb = (int)ldh, ldc = (int)(3 * H);
        const float one = 1.0f;
        sgemm("T", "N", &m, &n, &k, &one, W, &lda, h, &ldb, &one, gh, &ldc);
        return;
    }
    for (long b = 0; b < B; ++b)
        for (long i = 0; i < 3 * H; ++i) {
            const float *w = W + i * H, *x = h + b * ldh;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (long j = 0; j < H; ++j)
                acc += x[j] * w[j];
            gh[b * 3 * H + i] += acc;
        }
}

/* dh (B x H) += dgh (B x 3H) . W, W (3H x H) row-major. */
static void matmul_gate_grads(sgemm_fn sgemm, const float *dgh, const float *W, float *dh, long B, long H) {
    if (sgemm) {
        /* Column-major view: dh^T (H x B) = W^T (H x 3H: 'N') . dgh^T (3H x B: 'N'). */
        const int m = (int)H, n = (int)B, k = (int)(3 * H), lda = (int)H, ldb = (int)(3 * H), ldc = (int)H;
        const float one = 1.0f;
        sgemm("N", "N", &m, &n, &k, &one, W, &lda, dgh, &ldb, &one, dh, &ldc);
        return;
    }
    for (long b = 0; b < B; ++b)
        for (long i = 0; i < 3 * H; ++i) {
            const float g = dgh[b * 3 * H + i], *w = W + i * H;
            float *out = dh + b * H;
#pragma omp simd
            for (long j = 0; j < H; ++j)
                out[j] += g * w[j];
        }
}

static inline int active(const int64_t *lengths, long b, long t) { return lengths == NULL || t < lengths[b]; }

/* Inputs:  gi (B, T, 3H), h0 (B, H), W (3H, H), bias (3H), lengths (B) or NULL.
 * Outputs: out (B, T, H), h (B, H) the final state.
 * Saved for backward, indexed by processing step s (t = s, or T-1-s when reverse):
 *          gates (T, B, 4H) = [r, z, n, gh_n],  hprev (T, B, H) = h_{t-1}.
 * Scratch: gh (B, 3H), allocated by the caller like every other buffer. */
void gru_forward(const float *gi, const float *h0, const float *W, const float *bias, const int64_t *lengths,
                 float *out, float *h, float *gates, float *hprev, float *gh, long B, long T, long H,
                 int reverse, sgemm_fn sgemm) {
    memcpy(h, h0, sizeof(float) * (size_t)(B * H));
    for (long s = 0; s < T; ++s) {
        const long t = reverse ? T - 1 - s : s;
        memcpy(hprev + s * B * H, h, sizeof(float) * (size_t)(B * H));
        for (long b = 0; b < B; ++b)
            memcpy(gh + b * 3 * H, bias, sizeof(float) * (size_t)(3 * H));
        matmul_state_weights(sgemm, h, H, W, gh, B, H);
        for (long b = 0; b < B; ++b) {
            float *o = out + (b * T + t) * H;
            if (!active(lengths, b, t)) {
                memset(o, 0, sizeof(float) * (size_t)H);
                continue;
            }
            const float *x = gi + (b * T + t) * 3 * H, *g = gh + b * 3 * H;
            float *hb = h + b * H, *sv = gates + (s * B + b) * 4 * H;
#pragma omp simd
            for (long j = 0; j < H; ++j) {
                const float r = fast_sigmoid(x[j] + g[j]);
                const float z = fast_sigmoid(x[H + j] + g[H + j]);
                const float n = fast_tanh(x[2 * H + j] + r * g[2 * H + j]);
                const float hn = (1.0f - z) * n + z * hb[j];
                sv[j] = r;
                sv[H + j] = z;
                sv[2 * H + j] = n;
                sv[3 * H + j] = g[2 * H + j];
                o[j] = hn;
                hb[j] = hn;
            }
        }
    }
}

/* Inputs:  what gru_forward saved, W, lengths, dout (B, T, H), dh (B, H) the gradient of the final
 *          state on entry and of h0 on return.
 * Outputs: dgi (B, T, 3H), dgh (T, B, 3H) indexed by processing step like the saved tensors. */
void gru_backward(const float *W, const int64_t *lengths, const float *gates, const float *hprev,
                  const float *dout, float *dh, float *dgi, float *dgh, long B, long T, long H,
                  int reverse, sgemm_fn sgemm) {
    for (long s = T - 1; s >= 0; --s) {
        const long t = reverse ? T - 1 - s : s;
        float *dg_step = dgh + s * B * 3 * H;
        for (long b = 0; b < B; ++b) {
            float *di = dgi + (b * T + t) * 3 * H, *dg = dg_step + b * 3 * H;
            if (!active(lengths, b, t)) {
                memset(di, 0, sizeof(float) * (size_t)(3 * H));
                memset(dg, 0, sizeof(float) * (size_t)(3 * H));
                continue;
            }
            const float *sv = gates + (s * B + b) * 4 * H, *hp = hprev + (s * B + b) * H;
            const float *go = dout + (b * T + t) * H;
            float *dhb = dh + b * H;
#pragma omp simd
            for (long j = 0; j < H; ++j) {
                const float r = sv[j], z = sv[H + j], n = sv[2 * H + j], ghn = sv[3 * H + j];
                const float d = dhb[j] + go[j];
                const float dan = d * (1.0f - z) * (1.0f - n * n);
                const float dar = dan * ghn * r * (1.0f - r);
                const float daz = d * (hp[j] - n) * z * (1.0f - z);
                di[j] = dar;
                di[H + j] = daz;
                di[2 * H + j] = dan;
                dg[j] = dar;
                dg[H + j] = daz;
                dg[2 * H + j] = dan * r;
                dhb[j] = d * z;
            }
        }
        matmul_gate_grads(sgemm, dg_step, W, dh, B, H);
    }
}
