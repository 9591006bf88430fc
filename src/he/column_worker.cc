#include "he/column_worker.h"

#include <string>

#include "common/error.h"
#include "he/column_plan.h"
#include "he/mod2k_gemm.h"
#include "he/security.h"

namespace cipherlora {

uint32_t ColumnWorker::add_linear(std::vector<int8_t> wq, int64_t out, int64_t in) {
  check_weight_shape(wq, out, in, "worker");
  Linear lin;
  lin.out = out;
  lin.in = in;
  lin.forward = std::make_unique<Mod2kWeights>(kernel_, wq.data(), in, out, /*trans_w=*/true);
  lin.backward = std::make_unique<Mod2kWeights>(kernel_, wq.data(), out, in, /*trans_w=*/false);
  linears_.push_back(std::move(lin));
  return static_cast<uint32_t>(linears_.size() - 1);
}

namespace {

// v mod 2^from rounded to `to` bits: round(v / 2^(from − to)) mod 2^to.
void round_to_bits(LargeVector<uint64_t>& v, int from, int to) {
  const int shift = from - to;
  if (shift == 0) return;
  const uint64_t half = uint64_t{1} << (shift - 1);
  const uint64_t mask = to >= 64 ? ~uint64_t{0} : (uint64_t{1} << to) - 1;
  const int64_t n = static_cast<int64_t>(v.size());
  uint64_t* p = v.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = ((p[i] + half) >> shift) & mask;
}

}  // namespace

EncryptedResponse ColumnWorker::serve(const EncryptedRequest& req) {
  EncryptedResponse resp;
  serve_into(req, resp);
  return resp;
}

void ColumnWorker::serve_into(const EncryptedRequest& req, EncryptedResponse& resp) {
  require(req.linear_id < linears_.size(), "request: linear " + std::to_string(req.linear_id) +
                                               " does not exist on this worker (" +
                                               std::to_string(linears_.size()) + " linears)");
  check_security(req.log_n, req.log_q, 3.2);
  const Linear& lin = linears_[req.linear_id];
  const bool forward = req.direction == Direction::kForward;
  const int64_t K = forward ? lin.in : lin.out, m = forward ? lin.out : lin.in;
  require(req.columns == K, "request: " + std::to_string(req.columns) + " columns, but linear " +
                                std::to_string(req.linear_id) + " takes " + std::to_string(K) +
                                (forward ? " inputs" : " output gradients"));
  const int64_t N = int64_t{1} << req.log_n;
  require(static_cast<int64_t>(req.body.size()) == K * N, "request: body size does not match");

  resp.request_id = req.request_id;
  resp.columns = static_cast<uint32_t>(m);
  resp.log_n = req.log_n;
  resp.log_q_b = req.log_q_b_out;
  resp.b.resize(m * N);
  const uint64_t* in[1] = {req.body.data()};
  uint64_t* out[1] = {resp.b.data()};
  (forward ? *lin.forward : *lin.backward).products(1, in, N, req.log_q, out);
  round_to_bits(resp.b, req.log_q, req.log_q_b_out);
}

std::vector<uint8_t> ColumnWorker::handle(std::span<const uint8_t> request) {
  std::vector<uint8_t> reply;
  handle(request, reply);
  return reply;
}

void ColumnWorker::handle(std::span<const uint8_t> request, std::vector<uint8_t>& reply) {
  parse_request(request, request_);
  serve_into(request_, response_);
  serialize(response_, reply);
}

}  // namespace cipherlora
