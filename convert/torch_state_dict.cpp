#include "convert/torch_state_dict.h"

#include "convert/zip_directory.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace facekit {
namespace {

// ---- pickle values ----

struct Value;
// Values point at each other without owning: a pickle may put a container inside itself (through
// its memo), and values that owned each other in such a cycle would never be freed. They all
// live in an Arena that outlives every pointer (read_torch_state_dict's).
using ValuePtr = Value*;

// The python objects a state dict's pickle can hold.
struct Value {
  enum class Kind { kNone, kBool, kInt, kBigInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kTensor };
  Kind kind = Kind::kNone;
  int64_t integer = 0;                                 // kBool, kInt
  double real = 0;                                     // kFloat
  std::string text;                                    // kString; kGlobal "module.name"; kBigInt raw bytes
  std::vector<ValuePtr> items;                         // kTuple, kList
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // kDict, in insertion order
  torch::Tensor tensor;                                // kTensor; a storage is a 1-d tensor of its dtype
};

// A deque: adding values never moves the ones already pointed at.
class Arena {
 public:
  ValuePtr make(Value::Kind kind) {
    values_.emplace_back().kind = kind;
    return &values_.back();
  }

 private:
  std::deque<Value> values_;
};

// Pickle opcodes (Python's Lib/pickle.py names) of protocols 2 to 4 that torch.save emits.
enum Opcode : uint8_t {
  kMark = '(', kStop = '.', kBinInt = 'J', kBinInt1 = 'K', kBinInt2 = 'M', kNone = 'N', kBinPersId = 'Q',
  kReduce = 'R', kBinUnicode = 'X', kAppend = 'a', kBuild = 'b', kGlobal = 'c', kAppends = 'e', kBinGet = 'h',
  kLongBinGet = 'j', kBinPut = 'q', kLongBinPut = 'r', kSetItem = 's', kTuple = 't', kSetItems = 'u',
  kBinFloat = 'G', kEmptyDict = '}', kEmptyList = ']', kEmptyTuple = ')', kProto = 0x80, kNewTrue = 0x88,
  kNewFalse = 0x89, kLong1 = 0x8a, kTuple1 = 0x85, kTuple2 = 0x86, kTuple3 = 0x87, kShortBinUnicode = 0x8c,
  kStackGlobal = 0x93, kMemoize = 0x94, kFrame = 0x95,
};
constexpr int kMaxProtocol = 4;

const std::map<std::string, torch::ScalarType>& storage_types() {
  static const std::map<std::string, torch::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat},   {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},     {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},     {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort},   {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},     {"torch.BoolStorage", torch::kBool}};
  return types;
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

// Where a storage's bytes come from: (key, dtype, element count, offset of the opcode) -> 1-d tensor.
using StorageLoader = std::function<torch::Tensor(const std::string&, torch::ScalarType, int64_t, size_t)>;

class Unpickler {
 public:
  // `data` holds the pickle from `begin`; offsets in messages are `base` + the position in `data`.
  Unpickler(std::string file, const std::string& data, size_t begin, size_t base, StorageLoader storages, Arena& arena)
      : file_(std::move(file)), data_(data), pos_(begin), base_(base), storages_(std::move(storages)), arena_(arena) {}

  // Runs to STOP; position() is then just past it.
  ValuePtr load();
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw std::runtime_error(file_ + ": byte " + std::to_string(base_ + at) + ": " + what);
  }
  const char* take(size_t n);
  template <typename T>
  T read_le() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));  // pickle integers are little-endian, as this host
    return v;
  }
  std::string read_line();
  ValuePtr make(Value::Kind kind) { return arena_.make(kind); }
  ValuePtr pop();
  std::vector<ValuePtr> pop_to_mark();
  ValuePtr& top();
  ValuePtr memo_get(size_t index);
  ValuePtr global(const std::string& module, const std::string& name);
  ValuePtr persistent_load(const ValuePtr& pid);
  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args);
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args);
  void set_items(const ValuePtr& dict, const std::vector<ValuePtr>& flat);
  bool step(uint8_t op);  // false at STOP

  std::string file_;
  const std::string& data_;
  size_t pos_, base_, op_at_ = 0;
  StorageLoader storages_;
  Arena& arena_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::map<size_t, ValuePtr> memo_;
};

const char* Unpickler::take(size_t n) {
  if (n > data_.size() - pos_) fail("truncated: needs " + std::to_string(n) + " more bytes", pos_);
  const char* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

std::string Unpickler::read_line() {
  const size_t end = data_.find('\n', pos_);
  if (end == std::string::npos) fail("truncated: line without end", pos_);
  std::string line = data_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return line;
}

ValuePtr Unpickler::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("pickle stack underflow", op_at_);
  ValuePtr v = stack_.back();
  stack_.pop_back();
  return v;
}

ValuePtr& Unpickler::top() {
  if (stack_.empty()) fail("pickle stack underflow", op_at_);
  return stack_.back();
}

std::vector<ValuePtr> Unpickler::pop_to_mark() {
  if (marks_.empty()) fail("no MARK before this opcode", op_at_);
  std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

ValuePtr Unpickler::memo_get(size_t index) {
  const auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored", op_at_);
  return it->second;
}

ValuePtr Unpickler::global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  if (full != kOrderedDict && full != kRebuildTensor && full != kRebuildParameter && !storage_types().count(full)) {
    fail("unsupported global '" + full + "' (a state dict holds only tensors in dicts)", op_at_);
  }
  auto v = make(Value::Kind::kGlobal);
  v->text = full;
  return v;
}

// torch.save's persistent id: ('storage', storage type, key, location, element count[, view]).
ValuePtr Unpickler::persistent_load(const ValuePtr& pid) {
  const auto& t = pid->items;
  constexpr size_t kFields = 5, kLegacyFields = 6;
  if (pid->kind != Value::Kind::kTuple || (t.size() != kFields && t.size() != kLegacyFields) ||
      t[0]->kind != Value::Kind::kString || t[0]->text != "storage" || t[1]->kind != Value::Kind::kGlobal ||
      !storage_types().count(t[1]->text) || t[2]->kind != Value::Kind::kString || t[4]->kind != Value::Kind::kInt) {
    fail("persistent id is not ('storage', torch.<Type>Storage, key, location, count)", op_at_);
  }
  if (t.size() == kLegacyFields && t[5]->kind != Value::Kind::kNone) fail("storage views are not supported", op_at_);
  if (t[4]->integer < 0) fail("negative storage size", op_at_);
  auto v = make(Value::Kind::kTensor);
  v->tensor = storages_(t[2]->text, storage_types().at(t[1]->text), t[4]->integer, op_at_);
  return v;
}

// _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
ValuePtr Unpickler::rebuild_tensor(const std::vector<ValuePtr>& a) {
  const auto ints = [&](const ValuePtr& tuple) {
    if (tuple->kind != Value::Kind::kTuple) fail("tensor size/stride is not a tuple", op_at_);
    std::vector<int64_t> out;
    for (const auto& item : tuple->items) {
      if (item->kind != Value::Kind::kInt || item->integer < 0) fail("tensor size/stride is not >= 0 integers", op_at_);
      out.push_back(item->integer);
    }
    return out;
  };
  if (a.size() < 6 || a[0]->kind != Value::Kind::kTensor || a[1]->kind != Value::Kind::kInt) {
    fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)", op_at_);
  }
  const auto& storage = a[0]->tensor;
  const int64_t offset = a[1]->integer;
  const auto size = ints(a[2]), stride = ints(a[3]);
  if (size.size() != stride.size()) fail("tensor size and stride differ in length", op_at_);
  int64_t last = offset, numel = 1;
  for (size_t d = 0; d < size.size(); ++d) {
    int64_t reach = 0;  // from the first element to the last along d
    if (__builtin_mul_overflow(size[d] == 0 ? 0 : size[d] - 1, stride[d], &reach) ||
        __builtin_add_overflow(last, reach, &last) || __builtin_mul_overflow(numel, size[d], &numel)) {
      fail("tensor size and stride overflow 64 bits", op_at_);
    }
  }
  if (offset < 0 || (numel > 0 && last >= storage.numel())) {
    fail("tensor (offset " + std::to_string(offset) + ", last element " + std::to_string(last) +
             ") does not fit its storage of " + std::to_string(storage.numel()) + " elements", op_at_);
  }
  auto v = make(Value::Kind::kTensor);
  v->tensor = storage.as_strided(size, stride, offset);
  return v;
}

ValuePtr Unpickler::reduce(const ValuePtr& callable, const ValuePtr& args) {
  if (callable->kind != Value::Kind::kGlobal || args->kind != Value::Kind::kTuple) fail("REDUCE on a non-global", op_at_);
  const auto& a = args->items;
  if (callable->text == kOrderedDict) {
    if (!a.empty()) fail("OrderedDict(...) with arguments is not supported", op_at_);
    return make(Value::Kind::kDict);  // filled by SETITEMS; order is kept anyway
  }
  if (callable->text == kRebuildTensor) return rebuild_tensor(a);
  if (callable->text == kRebuildParameter) {  // _rebuild_parameter(data, requires_grad, backward_hooks)
    if (a.size() != 3 || a[0]->kind != Value::Kind::kTensor) fail("_rebuild_parameter arguments", op_at_);
    return a[0];
  }
  fail("'" + callable->text + "' cannot be called", op_at_);
}

void Unpickler::set_items(const ValuePtr& dict, const std::vector<ValuePtr>& flat) {
  if (dict->kind != Value::Kind::kDict) fail("SETITEM(S) on a non-dict", op_at_);
  if (flat.size() % 2 != 0) fail("SETITEMS with an odd number of items", op_at_);
  for (size_t i = 0; i < flat.size(); i += 2) dict->entries.emplace_back(flat[i], flat[i + 1]);
}

bool Unpickler::step(uint8_t op) {
  switch (op) {
    case kProto: {
      const auto protocol = static_cast<uint8_t>(*take(1));
      if (protocol < 2 || protocol > kMaxProtocol) fail("pickle protocol " + std::to_string(protocol) + " (expected 2 to 4)", op_at_);
      break;
    }
    case kFrame: take(8); break;  // protocol 4 framing: only a length hint
    case kStop: return false;
    case kMark: marks_.push_back(stack_.size()); break;
    case kNone: stack_.push_back(make(Value::Kind::kNone)); break;
    case kNewTrue: case kNewFalse: {
      auto v = make(Value::Kind::kBool);
      v->integer = op == kNewTrue;
      stack_.push_back(v);
      break;
    }
    case kBinInt: case kBinInt1: case kBinInt2: {
      auto v = make(Value::Kind::kInt);
      v->integer = op == kBinInt ? read_le<int32_t>() : op == kBinInt1 ? read_le<uint8_t>() : read_le<uint16_t>();
      stack_.push_back(v);
      break;
    }
    case kLong1: {  // n-byte two's complement; beyond 8 bytes (the legacy magic) kept raw
      const auto n = static_cast<uint8_t>(*take(1));
      const char* bytes = take(n);
      auto v = make(n <= 8 ? Value::Kind::kInt : Value::Kind::kBigInt);
      if (n <= 8) {
        uint64_t u = 0;
        for (int i = n - 1; i >= 0; --i) u = (u << 8) | static_cast<uint8_t>(bytes[i]);
        if (n > 0 && n < 8 && (bytes[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);  // sign-extend
        v->integer = static_cast<int64_t>(u);
      } else {
        v->text.assign(bytes, n);
      }
      stack_.push_back(v);
      break;
    }
    case kBinFloat: {  // big-endian IEEE double
      const char* b = take(8);
      uint64_t u = 0;
      for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(b[i]);
      auto v = make(Value::Kind::kFloat);
      std::memcpy(&v->real, &u, sizeof u);
      stack_.push_back(v);
      break;
    }
    case kBinUnicode: case kShortBinUnicode: {
      const size_t n = op == kBinUnicode ? read_le<uint32_t>() : read_le<uint8_t>();
      auto v = make(Value::Kind::kString);
      v->text.assign(take(n), n);
      stack_.push_back(v);
      break;
    }
    case kGlobal: {
      const std::string module = read_line();
      stack_.push_back(global(module, read_line()));
      break;
    }
    case kStackGlobal: {
      const auto name = pop(), module = pop();
      if (name->kind != Value::Kind::kString || module->kind != Value::Kind::kString) fail("STACK_GLOBAL on non-strings", op_at_);
      stack_.push_back(global(module->text, name->text));
      break;
    }
    case kEmptyTuple: stack_.push_back(make(Value::Kind::kTuple)); break;
    case kTuple1: case kTuple2: case kTuple3: {
      auto v = make(Value::Kind::kTuple);
      v->items.resize(op - kTuple1 + 1);
      for (auto it = v->items.rbegin(); it != v->items.rend(); ++it) *it = pop();
      stack_.push_back(v);
      break;
    }
    case kTuple: {
      auto v = make(Value::Kind::kTuple);
      v->items = pop_to_mark();
      stack_.push_back(v);
      break;
    }
    case kEmptyList: stack_.push_back(make(Value::Kind::kList)); break;
    case kEmptyDict: stack_.push_back(make(Value::Kind::kDict)); break;
    case kAppend: {
      auto item = pop();
      if (top()->kind != Value::Kind::kList) fail("APPEND to a non-list", op_at_);
      top()->items.push_back(item);
      break;
    }
    case kAppends: {
      auto items = pop_to_mark();
      if (top()->kind != Value::Kind::kList) fail("APPENDS to a non-list", op_at_);
      top()->items.insert(top()->items.end(), items.begin(), items.end());
      break;
    }
    case kSetItem: {
      auto value = pop(), key = pop();
      set_items(top(), {key, value});
      break;
    }
    case kSetItems: {
      auto items = pop_to_mark();
      set_items(top(), items);
      break;
    }
    case kBinPersId: stack_.push_back(persistent_load(pop())); break;
    case kReduce: {
      auto args = pop(), callable = pop();
      stack_.push_back(reduce(callable, args));
      break;
    }
    case kBuild: {  // an OrderedDict's attributes (state_dict()'s `_metadata`): not needed
      auto state = pop();
      if (top()->kind != Value::Kind::kDict || state->kind != Value::Kind::kDict) fail("BUILD on a non-dict", op_at_);
      break;
    }
    case kBinPut: memo_[read_le<uint8_t>()] = top(); break;
    case kLongBinPut: memo_[read_le<uint32_t>()] = top(); break;
    case kMemoize: memo_[memo_.size()] = top(); break;
    case kBinGet: stack_.push_back(memo_get(read_le<uint8_t>())); break;
    case kLongBinGet: stack_.push_back(memo_get(read_le<uint32_t>())); break;
    default: {
      std::ostringstream hex;
      hex << "0x" << std::hex << int{op};
      fail("unsupported pickle opcode " + hex.str() + " (not a torch.save state dict?)", op_at_);
    }
  }
  return true;
}

ValuePtr Unpickler::load() {
  do {
    op_at_ = pos_;
  } while (step(static_cast<uint8_t>(*take(1))));
  if (stack_.size() != 1 || !marks_.empty()) fail("pickle ends with " + std::to_string(stack_.size()) + " values", op_at_);
  return stack_.back();
}

// ---- the two file formats ----

std::string read_all(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

// The bytes a storage of `numel` elements needs, or -1 when that is more than `available` (checked
// before anything is allocated: a corrupt count must be an error, not an allocation of exabytes).
int64_t storage_bytes(torch::ScalarType dtype, int64_t numel, size_t available) {
  const auto element = static_cast<int64_t>(c10::elementSize(dtype));
  return numel > static_cast<int64_t>(available) / element ? -1 : numel * element;
}

torch::Tensor empty_storage(torch::ScalarType dtype, int64_t numel) {
  return torch::empty({numel}, torch::TensorOptions().dtype(dtype));
}

// Zip compression methods (APPNOTE 4.4.5) that miniz extracts; torch.save stores, but an archive
// re-zipped by other tools may deflate.
constexpr uint16_t kStored = 0, kDeflated = 8;
// Deflate's densest output: the zlib FAQ's bound on its compression ratio.
constexpr uint64_t kMaxDeflateRatio = 1032;

// miniz, inside PyTorchStreamReader (its constructor reads 'version', then getRecord), allocates
// the size a record claims before it extracts the record, so a size no record could expand to is
// refused first: an error, not an allocation of gigabytes.
void check_record_sizes(const std::string& path) {
  for (const ZipRecord& r : read_zip_directory(path)) {
    const std::string record = path + ": record '" + r.name + "' ";
    if (r.method != kStored && r.method != kDeflated) {
      throw std::runtime_error(record + "is compressed with zip method " + std::to_string(r.method) +
                               " (only stored and deflate are read)");
    }
    const bool stored = r.method == kStored;
    if (stored ? r.size != r.compressed_size : r.size / kMaxDeflateRatio > r.compressed_size) {
      throw std::runtime_error(record + "claims " + std::to_string(r.size) + " bytes from " +
                               std::to_string(r.compressed_size) + " in the archive (" +
                               (stored ? "stored: they must be equal" : "deflate expands at most 1032 times") + ")");
    }
  }
}

ValuePtr load_zip(const std::string& path, Arena& arena) {
  check_record_sizes(path);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": not a readable torch.save zip archive (" + e.what_without_backtrace() + ")");
  }
  const auto record = [&](const std::string& name) {
    try {
      auto [data, size] = reader->getRecord(name);
      return std::string(static_cast<const char*>(data.get()), size);
    } catch (const c10::Error& e) {
      throw std::runtime_error(path + ": record '" + name + "': " + e.what_without_backtrace());
    }
  };
  const std::string pickle = record("data.pkl");
  std::map<std::string, torch::Tensor> loaded;
  const auto storage = [&](const std::string& key, torch::ScalarType dtype, int64_t numel, size_t) {
    if (const auto it = loaded.find(key); it != loaded.end()) return it->second;
    const std::string bytes = record("data/" + key);
    if (storage_bytes(dtype, numel, bytes.size()) != static_cast<int64_t>(bytes.size())) {
      throw std::runtime_error(path + ": record 'data/" + key + "' has " + std::to_string(bytes.size()) +
                               " bytes, not the " + std::to_string(numel) + " elements of its storage");
    }
    auto t = empty_storage(dtype, numel);
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    return loaded[key] = t;
  };
  return Unpickler(path + " (data.pkl)", pickle, 0, 0, storage, arena).load();
}

// The legacy magic number 0x1950a86a20f9469cfc6c, as pickle's LONG1 stores it (little-endian).
const std::string kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr int64_t kLegacyProtocolVersion = 1001;

ValuePtr load_legacy(const std::string& path, Arena& arena) {
  const std::string data = read_all(path);
  size_t pos = 0;
  std::map<std::string, torch::Tensor> storages;
  const auto next_pickle = [&](const StorageLoader& loader) {
    Unpickler unpickler(path, data, pos, 0, loader, arena);
    auto v = unpickler.load();
    pos = unpickler.position();
    return v;
  };
  const StorageLoader no_storages = [&](const std::string&, torch::ScalarType, int64_t, size_t at) -> torch::Tensor {
    throw std::runtime_error(path + ": byte " + std::to_string(at) + ": storage in a header pickle");
  };
  ValuePtr magic;
  try {
    magic = next_pickle(no_storages);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + " (not a torch.save file: neither a zip archive nor a pickle)");
  }
  if (magic->kind != Value::Kind::kBigInt || magic->text != kLegacyMagic) {
    throw std::runtime_error(path + ": not a torch.save file (neither a zip archive nor the legacy magic number)");
  }
  const auto version = next_pickle(no_storages);
  if (version->kind != Value::Kind::kInt || version->integer != kLegacyProtocolVersion) {
    throw std::runtime_error(path + ": legacy torch.save protocol version is not " + std::to_string(kLegacyProtocolVersion));
  }
  const auto sys_info = next_pickle(no_storages);
  for (const auto& [key, value] : sys_info->entries) {
    if (key->text == "little_endian" && !value->integer) throw std::runtime_error(path + ": saved on a big-endian machine");
  }
  const auto object = next_pickle([&](const std::string& key, torch::ScalarType dtype, int64_t numel, size_t at) {
    if (const auto it = storages.find(key); it != storages.end()) return it->second;
    if (storage_bytes(dtype, numel, data.size()) < 0) {
      throw std::runtime_error(path + ": byte " + std::to_string(at) + ": storage '" + key + "' of " +
                               std::to_string(numel) + " elements is larger than the file");
    }
    return storages[key] = empty_storage(dtype, numel);  // filled from the bytes after the pickles
  });
  const auto keys = next_pickle(no_storages);
  if (keys->kind != Value::Kind::kList) throw std::runtime_error(path + ": byte " + std::to_string(pos) + ": no storage key list");
  for (const auto& key : keys->items) {
    const auto it = storages.find(key->text);
    if (key->kind != Value::Kind::kString || it == storages.end()) {
      throw std::runtime_error(path + ": byte " + std::to_string(pos) + ": unknown storage key in the key list");
    }
    auto& t = it->second;
    if (data.size() - pos < sizeof(int64_t) + t.nbytes()) {
      throw std::runtime_error(path + ": byte " + std::to_string(pos) + ": truncated in storage '" + key->text + "'");
    }
    int64_t numel = 0;
    std::memcpy(&numel, data.data() + pos, sizeof numel);
    if (numel != t.numel()) {
      throw std::runtime_error(path + ": byte " + std::to_string(pos) + ": storage '" + key->text + "' has " +
                               std::to_string(numel) + " elements, the pickle said " + std::to_string(t.numel()));
    }
    std::memcpy(t.data_ptr(), data.data() + pos + sizeof numel, t.nbytes());
    pos += sizeof numel + t.nbytes();
  }
  if (keys->items.size() != storages.size()) throw std::runtime_error(path + ": storages missing from the key list");
  return object;
}

bool is_zip(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  char magic[4] = {};
  file.read(magic, sizeof magic);
  return file.gcount() == sizeof magic && std::memcmp(magic, "PK\x03\x04", sizeof magic) == 0;
}

const Value* find_entry(const Value& dict, const std::string& name) {
  for (const auto& [key, value] : dict.entries) {
    if (key->kind == Value::Kind::kString && key->text == name && value->kind == Value::Kind::kDict) return value;
  }
  return nullptr;
}

}  // namespace

StateDict read_torch_state_dict(const std::string& path) {
  Arena arena;
  const ValuePtr root = is_zip(path) ? load_zip(path, arena) : load_legacy(path, arena);
  if (root->kind != Value::Kind::kDict) throw std::runtime_error(path + ": the saved object is not a dict");
  const Value* dict = root;
  for (const char* wrapper : {"state_dict", "model"}) {
    if (const Value* inner = find_entry(*root, wrapper)) dict = inner;
  }
  StateDict state;
  for (const auto& [key, value] : dict->entries) {
    if (key->kind != Value::Kind::kString) throw std::runtime_error(path + ": a state dict key is not a string");
    if (value->kind != Value::Kind::kTensor) throw std::runtime_error(path + ": '" + key->text + "' is not a tensor");
    state.emplace_back(key->text, value->tensor);
  }
  return state;
}

}  // namespace facekit
