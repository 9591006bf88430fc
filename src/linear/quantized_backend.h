// The `quantized` linear backend: the exact integer arithmetic of the `encrypted` backend, run in
// the clear. Its outputs are a deterministic function of its inputs — bit-identical on any machine
// and thread count — so the encrypted backend, which decrypts the same integers, can reproduce
// them bit for bit (DESIGN.md, "The encrypted matmul").
//
//   auto qkv = make_quantized_backend("layers.0.qkv", std::move(w), 960, 576, /*n_bits=*/8);
//   qkv->forward(x, T, y);     // x [T, 576] -> y [T, 960]
//   qkv->backward(dy, T, dx);  // dy [T, 960] -> dx [T, 576]
//
// Arithmetic (formulas of the quantizers and of dequantize() in linear/quantizer.h):
//   construction  W [out, in] fp32 -> Wq [out, in] int8 and w_scale [out], symmetric per output
//                 channel; plus row_sum[j] = Σ_i Wq[j,i] and col_sum[i] = Σ_j Wq[j,i]. The fp32 W
//                 is not kept.
//   forward       Xq, s, zp = quantize_per_token(X, n_bits)                 X [T, in]
//                 acc[t,j]  = Σ_i Xq[t,i]·Wq[j,i] − zp[t]·row_sum[j]         exact integer
//                 Y[t,j]    = dequantize(acc[t,j], s[t], w_scale[j])
//   backward      G[t,j]    = dY[t,j] · w_scale[j]  (fp32; the channel scale sits on the summed
//                                                    index, so it is folded in before quantizing)
//                 Gq, s, zp = quantize_per_token(G, n_bits)                  G [T, out]
//                 acc[t,i]  = Σ_j Gq[t,j]·Wq[j,i] − zp[t]·col_sum[i]         exact integer
//                 dX[t,i]   = dequantize(acc[t,i], s[t], 1)
// The integer products run on oneDNN's u8 × s8 -> s32 matmul where it is exact (VNNI/AMX), else
// on portable loops; both give the same integers (linear/quantized_product.h, int8_gemm.h).
//
// A backend object reuses scratch buffers between calls: call it from one thread at a time.
// Non-finite inputs throw Error.
#pragma once

#include "linear/linear_backend.h"
#include "tensor/int8_gemm.h"

namespace cipherlora {

// weight: [out, in] row-major fp32. n_bits: activation/gradient bits, 2..16 (Error otherwise).
// kernel: which integer GEMM runs (tests compare them); the result does not depend on it.
std::unique_ptr<LinearBackend> make_quantized_backend(const std::string& name,
                                                      std::vector<float> weight, int64_t out,
                                                      int64_t in, int n_bits,
                                                      Int8Kernel kernel = best_int8_kernel());

// Throws Error now if n_bits is out of range, not at the first layer built.
LinearBackendFactory quantized_backend_factory(int n_bits);

}  // namespace cipherlora
