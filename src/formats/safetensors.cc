#include "formats/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "formats/atomic_file.h"
#include "formats/gguf_dequant.h"

namespace cipherlora {

static_assert(std::endian::native == std::endian::little,
              "safetensors reader assumes a little-endian host");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference library's limit

}  // namespace

uint64_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile st;
  st.file_ = MappedFile::open(path);
  st.parse();
  return st;
}

void SafetensorsFile::fail(const std::string& what) const {
  throw Error("safetensors " + path() + ": " + what);
}

void SafetensorsFile::parse() {
  const uint64_t size = file_.size();
  if (size < 8) fail("file too small (" + std::to_string(size) + " bytes) for a header length");
  uint64_t header_len;
  std::memcpy(&header_len, file_.data(), 8);
  if (header_len > size - 8) {
    fail("header length " + std::to_string(header_len) + " exceeds the file size " +
         std::to_string(size));
  }
  if (header_len > kMaxHeaderBytes)
    fail("header length " + std::to_string(header_len) + " too large");
  data_start_ = 8 + header_len;
  const uint64_t data_size = size - data_start_;

  const char* text = reinterpret_cast<const char*>(file_.data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail("__metadata__ value for " + k + " is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor " + name + ": ";
    if (!entry.is_object()) fail(where + "entry is not an object");
    const auto dtype = entry.find("dtype");
    const auto shape = entry.find("shape");
    const auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string()) fail(where + "missing string dtype");
    if (shape == entry.end() || !shape->is_array()) fail(where + "missing shape array");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      fail(where + "data_offsets must be two non-negative integers");
    }
    SafetensorsTensorInfo t;
    t.name = name;
    t.dtype = dtype->get<std::string>();
    const uint64_t elem_size = safetensors_dtype_size(t.dtype);
    if (elem_size == 0) fail(where + "unknown dtype " + t.dtype);
    uint64_t numel = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) fail(where + "shape entries must be non-negative integers");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / elem_size / dim)) {
        fail(where + "element count overflows");
      }
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    t.begin = (*offsets)[0].get<uint64_t>();
    t.end = (*offsets)[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size) {
      fail(where + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
           "] outside the data section of " + std::to_string(data_size) + " bytes");
    }
    if (t.end - t.begin != numel * elem_size) {
      fail(where + "shape and dtype need " + std::to_string(numel * elem_size) +
           " bytes but data_offsets span " + std::to_string(t.end - t.begin));
    }
    tensors_.push_back(std::move(t));
  }

  // The byte ranges must tile the data section: sorted by offset, each starts where the previous
  // one ended, and the last ends at the end of the file.
  std::sort(tensors_.begin(), tensors_.end(),
            [](const SafetensorsTensorInfo& a, const SafetensorsTensorInfo& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t expected = 0;
  for (const SafetensorsTensorInfo& t : tensors_) {
    if (t.begin != expected) {
      fail("tensor " + t.name + " starts at " + std::to_string(t.begin) + ", expected " +
           std::to_string(expected) + " (tensors overlap or leave a gap)");
    }
    expected = t.end;
  }
  if (expected != data_size) {
    fail("tensors cover " + std::to_string(expected) + " bytes but the data section has " +
         std::to_string(data_size));
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const SafetensorsTensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* SafetensorsFile::raw_data(const SafetensorsTensorInfo& t) const {
  if (t.begin > t.end || t.end > file_.size() - data_start_) {
    fail("tensor " + t.name + " lies outside the file");
  }
  return file_.data() + data_start_ + t.begin;
}

std::vector<float> SafetensorsFile::read_f32(const std::string& name) const {
  const SafetensorsTensorInfo* t = find(name);
  if (t == nullptr) fail("tensor " + name + " missing");
  const uint8_t* src = raw_data(*t);
  const uint64_t elem_size = safetensors_dtype_size(t->dtype);
  const uint64_t n = (t->end - t->begin) / (elem_size ? elem_size : 1);
  std::vector<float> out(n);
  if (t->dtype == "F32") {
    if (n > 0) std::memcpy(out.data(), src, n * 4);
  } else if (t->dtype == "F16") {
    convert_f16(src, static_cast<int64_t>(n), out.data());
  } else if (t->dtype == "BF16") {
    convert_bf16(src, static_cast<int64_t>(n), out.data());
  } else {
    fail("tensor " + name + " has dtype " + t->dtype +
         ", which cannot be read as fp32 (supported: F32, F16, BF16)");
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const NamedTensor*> sorted;
  for (const NamedTensor& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const NamedTensor* a, const NamedTensor* b) { return a->name < b->name; });

  // The header is assembled by hand to keep the reference library's order: __metadata__ first,
  // then tensors in data order, each {"dtype", "shape", "data_offsets"}.
  std::string header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + nlohmann::json(metadata).dump();
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const NamedTensor& t = *sorted[i];
    require(t.name != "__metadata__", "safetensors writer: __metadata__ is not a tensor name");
    require(i == 0 || sorted[i - 1]->name != t.name,
            "safetensors writer: duplicate tensor name " + t.name);
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      require(d >= 0, "safetensors writer: tensor " + t.name + " has a negative dim");
      numel *= static_cast<uint64_t>(d);
    }
    require(numel == t.data.size(), "safetensors writer: tensor " + t.name + " has " +
                                        std::to_string(t.data.size()) + " values, shape needs " +
                                        std::to_string(numel));
    const uint64_t end = offset + numel * 4;
    if (header.size() > 1) header += ",";
    header += nlohmann::json(t.name).dump() +
              ":{\"dtype\":\"F32\",\"shape\":" + nlohmann::json(t.shape).dump() +
              ",\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  AtomicFileWriter out(path);
  const uint64_t header_len = header.size();
  out.write(&header_len, 8);
  out.write(header.data(), header.size());
  for (const NamedTensor* t : sorted) out.write(t->data.data(), t->data.size() * 4);
  out.commit();
}

}  // namespace cipherlora
