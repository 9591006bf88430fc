#include "formats/gguf_reader.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "formats/gguf_dequant.h"

namespace cipherlora {

static_assert(std::endian::native == std::endian::little,
              "GGUF reader assumes a little-endian host");

namespace {

constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;      // arrays of arrays of ...: deeper is surely corrupt
constexpr uint64_t kMinKvBytes = 8 + 4;  // a lower bound: empty key + type tag
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims, type, offset

// Bounds-checked little-endian reads from the mapping. Every length or count taken from the file
// is compared against the bytes that remain before it is used.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, uint64_t pos, const std::string& path)
      : data_(data), size_(size), pos_(pos), path_(path) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string read_string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

  void skip(uint64_t n, const char* what) {
    need(n, what);
    pos_ += n;
  }

  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_) {
      fail(std::string("truncated or corrupt: ") + what + " needs " + std::to_string(n) +
           " bytes at offset " + std::to_string(pos_) + " but the file has " +
           std::to_string(size_) + " bytes");
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("gguf " + path_ + ": " + what);
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_;
  const std::string& path_;
};

bool is_integer_type(uint32_t type) {
  switch (static_cast<GgufValueType>(type)) {
    case GgufValueType::U8:
    case GgufValueType::I8:
    case GgufValueType::U16:
    case GgufValueType::I16:
    case GgufValueType::U32:
    case GgufValueType::I32:
    case GgufValueType::U64:
    case GgufValueType::I64:
    case GgufValueType::BOOL:
      return true;
    default:
      return false;
  }
}

// Reads one integer-typed value (is_integer_type(type) must hold).
int64_t read_integer(Cursor& c, uint32_t type, const std::string& key) {
  switch (static_cast<GgufValueType>(type)) {
    case GgufValueType::U8:
      return c.read<uint8_t>("u8 value");
    case GgufValueType::I8:
      return c.read<int8_t>("i8 value");
    case GgufValueType::U16:
      return c.read<uint16_t>("u16 value");
    case GgufValueType::I16:
      return c.read<int16_t>("i16 value");
    case GgufValueType::U32:
      return c.read<uint32_t>("u32 value");
    case GgufValueType::I32:
      return c.read<int32_t>("i32 value");
    case GgufValueType::I64:
      return c.read<int64_t>("i64 value");
    case GgufValueType::BOOL:
      return c.read<uint8_t>("bool value") != 0;
    case GgufValueType::U64: {
      const uint64_t v = c.read<uint64_t>("u64 value");
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        c.fail("key " + key + ": u64 value " + std::to_string(v) + " does not fit in int64");
      }
      return static_cast<int64_t>(v);
    }
    default:
      c.fail("key " + key + ": not an integer");
  }
}

double read_number(Cursor& c, uint32_t type, const std::string& key) {
  if (type == static_cast<uint32_t>(GgufValueType::F32)) return c.read<float>("f32 value");
  if (type == static_cast<uint32_t>(GgufValueType::F64)) return c.read<double>("f64 value");
  return static_cast<double>(read_integer(c, type, key));
}

// Steps over one value of `type`, checking that it lies inside the file.
void skip_value(Cursor& c, uint32_t type, int depth) {
  const int size = gguf_value_size(type);
  if (size < 0) c.fail("unknown metadata value type " + std::to_string(type));
  if (size > 0) return c.skip(static_cast<uint64_t>(size), "metadata value");
  if (type == static_cast<uint32_t>(GgufValueType::STRING)) {
    c.skip(c.read<uint64_t>("string length"), "string");
    return;
  }
  // Array: u32 element type, u64 count, elements.
  if (depth >= kMaxArrayNesting) c.fail("metadata arrays nested too deeply");
  const uint32_t elem = c.read<uint32_t>("array element type");
  const uint64_t count = c.read<uint64_t>("array length");
  const int elem_size = gguf_value_size(elem);
  if (elem_size < 0) c.fail("unknown array element type " + std::to_string(elem));
  // Every element takes at least min_elem bytes (a string its u64 length, an array its type and
  // count), so a count above remaining / min_elem is corrupt: checked before looping over it.
  uint64_t min_elem = 12;
  if (elem_size > 0) min_elem = static_cast<uint64_t>(elem_size);
  if (elem == static_cast<uint32_t>(GgufValueType::STRING)) min_elem = 8;
  if (count > c.remaining() / min_elem) {
    c.fail("array of " + std::to_string(count) + " elements extends past the end of the file");
  }
  if (elem_size > 0) return c.skip(count * static_cast<uint64_t>(elem_size), "array");
  for (uint64_t i = 0; i < count; ++i) skip_value(c, elem, depth + 1);
}

std::string full_type_name(const uint8_t* data, uint64_t size, uint64_t pos, uint32_t type,
                           const std::string& path) {
  if (type != static_cast<uint32_t>(GgufValueType::ARRAY)) return gguf_value_type_name(type);
  Cursor c(data, size, pos, path);
  return "array of " + gguf_value_type_name(c.read<uint32_t>("array element type"));
}

}  // namespace

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile gguf;
  gguf.file_ = MappedFile::open(path);
  gguf.parse();
  return gguf;
}

void GgufFile::fail(const std::string& what) const {
  throw Error("gguf " + path() + ": " + what);
}

void GgufFile::parse() {
  Cursor c(file_.data(), file_.size(), 0, file_.path());
  if (file_.size() < 4 || std::memcmp(file_.data(), "GGUF", 4) != 0) {
    fail("not a GGUF file (bad magic)");
  }
  c.skip(4, "magic");
  version_ = c.read<uint32_t>("version");
  if (version_ == 0x03000000u || version_ == 0x02000000u) {
    fail("big-endian GGUF files are not supported");
  }
  if (version_ != 2 && version_ != 3) {
    fail("unsupported GGUF version " + std::to_string(version_) + " (supported: 2, 3)");
  }
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  if (n_kv > c.remaining() / kMinKvBytes)
    fail("metadata count " + std::to_string(n_kv) + " is corrupt");

  // Metadata: remember where each value is; decode on request.
  kvs_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    Kv kv;
    kv.key = c.read_string("metadata key");
    kv.type = c.read<uint32_t>("metadata value type");
    kv.value = c.pos();
    skip_value(c, kv.type, 0);
    if (!kv_index_.emplace(kv.key, kvs_.size()).second) fail("duplicate metadata key " + kv.key);
    kvs_.push_back(std::move(kv));
  }
  if (has("general.alignment")) {
    const int64_t a = get_int("general.alignment");
    if (a <= 0 || a > (int64_t{1} << 30) || (a & (a - 1)) != 0) {
      fail("general.alignment " + std::to_string(a) + " is not a power of two");
    }
    alignment_ = static_cast<uint64_t>(a);
  }

  // Tensor infos.
  if (n_tensors > c.remaining() / kMinTensorInfoBytes) {
    fail("tensor count " + std::to_string(n_tensors) + " is corrupt");
  }
  tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.read_string("tensor name");
    const uint32_t n_dims = c.read<uint32_t>("tensor n_dims");
    if (n_dims > kMaxDims) {
      fail("tensor " + t.name + " has " + std::to_string(n_dims) + " dims (at most 4)");
    }
    int64_t n = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>("tensor dim");
      if (dim == 0) fail("tensor " + t.name + " has a zero dim");
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / n)) {
        fail("tensor " + t.name + ": element count overflows");
      }
      n *= static_cast<int64_t>(dim);
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.type = c.read<uint32_t>("tensor type");
    t.offset = c.read<uint64_t>("tensor offset");
    const GgmlTypeInfo* info = ggml_type_info(t.type);
    if (info == nullptr) fail("tensor " + t.name + " has unknown type " + std::to_string(t.type));
    const int64_t row = t.dims.empty() ? 1 : t.dims[0];
    if (row % info->block_size != 0) {
      fail("tensor " + t.name + ": row length " + std::to_string(row) +
           " is not a multiple of the " + info->name + " block size " +
           std::to_string(info->block_size));
    }
    const uint64_t n_blocks = static_cast<uint64_t>(n) / info->block_size;
    if (n_blocks > file_.size() / info->block_bytes) {
      fail("tensor " + t.name + " is larger than the file");
    }
    t.nbytes = n_blocks * info->block_bytes;
    if (t.offset % alignment_ != 0) {
      fail("tensor " + t.name + " offset " + std::to_string(t.offset) + " is not a multiple of " +
           "the alignment " + std::to_string(alignment_));
    }
    if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
      fail("duplicate tensor name " + t.name);
    }
    tensors_.push_back(std::move(t));
  }

  // Data section: every tensor must lie inside it and none may overlap another.
  data_start_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t data_size = file_.size() > data_start_ ? file_.size() - data_start_ : 0;
  for (const GgufTensorInfo& t : tensors_) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      fail("tensor " + t.name + " (offset " + std::to_string(t.offset) + ", " +
           std::to_string(t.nbytes) + " bytes) extends past the end of the file (data section " +
           "has " + std::to_string(data_size) + " bytes)");
    }
  }
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i - 1]->offset + by_offset[i - 1]->nbytes > by_offset[i]->offset) {
      fail("tensors " + by_offset[i - 1]->name + " and " + by_offset[i]->name + " overlap");
    }
  }
}

// ---- metadata ----

bool GgufFile::has(const std::string& key) const {
  return kv_index_.count(key) != 0;
}

std::vector<std::string> GgufFile::keys() const {
  std::vector<std::string> out;
  out.reserve(kvs_.size());
  for (const Kv& kv : kvs_) out.push_back(kv.key);
  return out;
}

const GgufFile::Kv& GgufFile::kv(const std::string& key) const {
  auto it = kv_index_.find(key);
  if (it == kv_index_.end()) fail("key " + key + " missing");
  return kvs_[it->second];
}

void GgufFile::fail_type(const Kv& kv, const std::string& expected) const {
  fail("key " + kv.key + " has type " +
       full_type_name(file_.data(), file_.size(), kv.value, kv.type, path()) + ", expected " +
       expected);
}

uint32_t GgufFile::value_type(const std::string& key) const {
  return kv(key).type;
}

std::string GgufFile::get_string(const std::string& key) const {
  const Kv& v = kv(key);
  if (v.type != static_cast<uint32_t>(GgufValueType::STRING)) fail_type(v, "string");
  Cursor c(file_.data(), file_.size(), v.value, path());
  return c.read_string("string");
}

int64_t GgufFile::get_int(const std::string& key) const {
  const Kv& v = kv(key);
  if (!is_integer_type(v.type)) fail_type(v, "an integer");
  Cursor c(file_.data(), file_.size(), v.value, path());
  return read_integer(c, v.type, key);
}

double GgufFile::get_float(const std::string& key) const {
  const Kv& v = kv(key);
  const bool is_float = v.type == static_cast<uint32_t>(GgufValueType::F32) ||
                        v.type == static_cast<uint32_t>(GgufValueType::F64);
  if (!is_float && !is_integer_type(v.type)) fail_type(v, "a number");
  Cursor c(file_.data(), file_.size(), v.value, path());
  return read_number(c, v.type, key);
}

bool GgufFile::get_bool(const std::string& key) const {
  const Kv& v = kv(key);
  if (v.type != static_cast<uint32_t>(GgufValueType::BOOL)) fail_type(v, "bool");
  return file_.data()[v.value] != 0;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const Kv& v = kv(key);
  Cursor c(file_.data(), file_.size(), v.value, path());
  if (v.type != static_cast<uint32_t>(GgufValueType::ARRAY) ||
      c.read<uint32_t>("array element type") != static_cast<uint32_t>(GgufValueType::STRING)) {
    fail_type(v, "array of string");
  }
  const uint64_t count = c.read<uint64_t>("array length");  // validated by parse()
  std::vector<std::string> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) out.push_back(c.read_string("string"));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const Kv& v = kv(key);
  Cursor c(file_.data(), file_.size(), v.value, path());
  uint32_t elem = 0;
  if (v.type != static_cast<uint32_t>(GgufValueType::ARRAY) ||
      !is_integer_type(elem = c.read<uint32_t>("array element type"))) {
    fail_type(v, "array of integers");
  }
  const uint64_t count = c.read<uint64_t>("array length");
  std::vector<int64_t> out(count);
  for (uint64_t i = 0; i < count; ++i) out[i] = read_integer(c, elem, key);
  return out;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
  const Kv& v = kv(key);
  Cursor c(file_.data(), file_.size(), v.value, path());
  uint32_t elem = 0;
  if (v.type != static_cast<uint32_t>(GgufValueType::ARRAY) ||
      !((elem = c.read<uint32_t>("array element type")) ==
            static_cast<uint32_t>(GgufValueType::F32) ||
        elem == static_cast<uint32_t>(GgufValueType::F64) || is_integer_type(elem))) {
    fail_type(v, "array of numbers");
  }
  const uint64_t count = c.read<uint64_t>("array length");
  std::vector<double> out(count);
  for (uint64_t i = 0; i < count; ++i) out[i] = read_number(c, elem, key);
  return out;
}

std::optional<std::string> GgufFile::get_string_or_none(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

int64_t GgufFile::get_int_or(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double GgufFile::get_float_or(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}

// ---- tensors ----

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& t) const {
  // Re-checked because t may come from another file (or be hand-made).
  const uint64_t data_size = file_.size() > data_start_ ? file_.size() - data_start_ : 0;
  if (t.offset > data_size || t.nbytes > data_size - t.offset) {
    fail("tensor " + t.name + " lies outside the file");
  }
  return file_.data() + data_start_ + t.offset;
}

std::vector<float> GgufFile::read_f32(const GgufTensorInfo& t) const {
  if (!gguf_can_dequantize(t.type)) {
    fail("tensor " + t.name + " has type " + gguf_type_name(t.type) +
         ", which cannot be read as fp32 (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1)");
  }
  const GgmlTypeInfo* info = ggml_type_info(t.type);
  const int64_t n = t.n_elements();
  if (n % info->block_size != 0 ||
      static_cast<uint64_t>(n) / info->block_size * info->block_bytes != t.nbytes) {
    fail("tensor " + t.name + ": dims do not match its byte size");
  }
  const uint8_t* src = tensor_data(t);
  std::vector<float> out(static_cast<size_t>(n));
  gguf_dequantize(t.type, src, n, out.data());
  return out;
}

std::vector<float> GgufFile::read_f32(const std::string& name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (t == nullptr) fail("tensor " + name + " missing");
  return read_f32(*t);
}

}  // namespace cipherlora
