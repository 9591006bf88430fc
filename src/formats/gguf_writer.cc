#include "formats/gguf_writer.h"

#include <cstring>
#include <limits>

#include "common/error.h"
#include "formats/atomic_file.h"
#include "formats/half.h"

namespace cipherlora {

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T value) {
  // resize + memcpy rather than insert(): g++ 12 emits a false -Wstringop-overflow for the latter.
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  const size_t at = out.size();
  out.resize(at + s.size());
  if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

std::vector<uint8_t> tagged(GgufValueType type) {
  std::vector<uint8_t> out;
  put<uint32_t>(out, static_cast<uint32_t>(type));
  return out;
}

// Number of elements, checking that dims are valid GGUF dims.
int64_t checked_elements(const std::string& name, const std::vector<int64_t>& dims) {
  require(dims.size() <= 4, "gguf writer: tensor " + name + " has more than 4 dims");
  int64_t n = 1;
  for (int64_t d : dims) {
    require(d > 0 && d <= std::numeric_limits<int64_t>::max() / n,
            "gguf writer: tensor " + name + " has an invalid dim " + std::to_string(d));
    n *= d;
  }
  return n;
}

}  // namespace

void GgufWriter::set(const std::string& key, std::vector<uint8_t> value) {
  for (Kv& kv : kvs_) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back({key, std::move(value)});
}

void GgufWriter::set_string(const std::string& key, const std::string& value) {
  std::vector<uint8_t> v = tagged(GgufValueType::STRING);
  put_string(v, value);
  set(key, std::move(v));
}

void GgufWriter::set_u32(const std::string& key, uint32_t value) {
  std::vector<uint8_t> v = tagged(GgufValueType::U32);
  put(v, value);
  set(key, std::move(v));
}

void GgufWriter::set_i32(const std::string& key, int32_t value) {
  std::vector<uint8_t> v = tagged(GgufValueType::I32);
  put(v, value);
  set(key, std::move(v));
}

void GgufWriter::set_u64(const std::string& key, uint64_t value) {
  std::vector<uint8_t> v = tagged(GgufValueType::U64);
  put(v, value);
  set(key, std::move(v));
}

void GgufWriter::set_f32(const std::string& key, float value) {
  std::vector<uint8_t> v = tagged(GgufValueType::F32);
  put(v, value);
  set(key, std::move(v));
}

void GgufWriter::set_bool(const std::string& key, bool value) {
  std::vector<uint8_t> v = tagged(GgufValueType::BOOL);
  put<uint8_t>(v, value ? 1 : 0);
  set(key, std::move(v));
}

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& values) {
  std::vector<uint8_t> v = tagged(GgufValueType::ARRAY);
  put<uint32_t>(v, static_cast<uint32_t>(GgufValueType::STRING));
  put<uint64_t>(v, values.size());
  for (const std::string& s : values) put_string(v, s);
  set(key, std::move(v));
}

void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& values) {
  std::vector<uint8_t> v = tagged(GgufValueType::ARRAY);
  put<uint32_t>(v, static_cast<uint32_t>(GgufValueType::I32));
  put<uint64_t>(v, values.size());
  for (int32_t x : values) put(v, x);
  set(key, std::move(v));
}

void GgufWriter::set_alignment(uint32_t alignment) {
  require(alignment > 0 && (alignment & (alignment - 1)) == 0,
          "gguf writer: alignment " + std::to_string(alignment) + " is not a power of two");
  set_u32("general.alignment", alignment);
  alignment_ = alignment;
}

void GgufWriter::add_tensor_f32(const std::string& name, const std::vector<int64_t>& dims,
                                const std::vector<float>& data) {
  const int64_t n = checked_elements(name, dims);
  require(static_cast<int64_t>(data.size()) == n, "gguf writer: tensor " + name + " has " +
                                                      std::to_string(data.size()) +
                                                      " values, dims need " + std::to_string(n));
  std::vector<uint8_t> bytes(data.size() * 4);
  std::memcpy(bytes.data(), data.data(), bytes.size());
  add_tensor_raw(name, dims, static_cast<uint32_t>(GgufType::F32), std::move(bytes));
}

void GgufWriter::add_tensor_f16(const std::string& name, const std::vector<int64_t>& dims,
                                const std::vector<float>& data) {
  const int64_t n = checked_elements(name, dims);
  require(static_cast<int64_t>(data.size()) == n, "gguf writer: tensor " + name + " has " +
                                                      std::to_string(data.size()) +
                                                      " values, dims need " + std::to_string(n));
  std::vector<uint8_t> bytes(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint16_t h = fp32_to_fp16(data[i]);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
  add_tensor_raw(name, dims, static_cast<uint32_t>(GgufType::F16), std::move(bytes));
}

void GgufWriter::add_tensor_raw(const std::string& name, const std::vector<int64_t>& dims,
                                uint32_t type, std::vector<uint8_t> bytes) {
  const int64_t n = checked_elements(name, dims);
  const GgmlTypeInfo* info = ggml_type_info(type);
  require(info != nullptr,
          "gguf writer: tensor " + name + " has unknown type " + std::to_string(type));
  const int64_t row = dims.empty() ? 1 : dims[0];
  require(row % info->block_size == 0, "gguf writer: tensor " + name + " row length " +
                                           std::to_string(row) + " is not a multiple of " +
                                           std::to_string(info->block_size));
  const uint64_t expected = static_cast<uint64_t>(n) / info->block_size * info->block_bytes;
  require(bytes.size() == expected, "gguf writer: tensor " + name + " has " +
                                        std::to_string(bytes.size()) + " bytes, expected " +
                                        std::to_string(expected));
  for (const Tensor& t : tensors_) {
    require(t.name != name, "gguf writer: duplicate tensor name " + name);
  }
  tensors_.push_back({name, dims, type, std::move(bytes)});
}

void GgufWriter::write(const std::string& path) const {
  auto padding = [this](uint64_t size) { return (alignment_ - size % alignment_) % alignment_; };

  std::vector<uint8_t> header;
  put<uint32_t>(header, 0x46554747u);  // "GGUF" read as a little-endian u32
  put<uint32_t>(header, 3);
  put<uint64_t>(header, tensors_.size());
  put<uint64_t>(header, kvs_.size());
  for (const Kv& kv : kvs_) {
    put_string(header, kv.key);
    header.insert(header.end(), kv.value.begin(), kv.value.end());
  }
  uint64_t offset = 0;  // each tensor starts aligned within the data section
  for (const Tensor& t : tensors_) {
    put_string(header, t.name);
    put<uint32_t>(header, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) put<uint64_t>(header, static_cast<uint64_t>(d));
    put<uint32_t>(header, t.type);
    put<uint64_t>(header, offset);
    offset += t.bytes.size() + padding(t.bytes.size());
  }

  AtomicFileWriter out(path);
  out.write(header.data(), header.size());
  out.write_zeros(padding(header.size()));
  for (const Tensor& t : tensors_) {
    out.write(t.bytes.data(), t.bytes.size());
    out.write_zeros(padding(t.bytes.size()));
  }
  out.commit();
}

}  // namespace cipherlora
