// libFuzzer target for the torch.save reader (convert/torch_state_dict.h): any bytes as a .pth file,
// the zip archive or the legacy stream. Allowed outcomes: tensors that lie inside their storages
// (every element is read here, so AddressSanitizer sees a view that does not), or a runtime_error
// naming the file. A crash, a c10::Error or an allocation larger than the file is a bug.
#include "convert/torch_state_dict.h"
#include "tests/fuzz/fuzz_file.h"

// LibTorch 1.13's PyTorchStreamReader leaks its miniz state when its constructor throws after
// opening the archive (a zip without a 'version' record: "Expected hasRecord("version")"), about
// 460 bytes per such file. Not ours to fix, and nothing else this target runs allocates inside
// libtorch_cpu that could leak, so LeakSanitizer ignores leaks from there.
extern "C" const char* __lsan_default_suppressions() { return "leak:libtorch_cpu.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_file_reader(data, size, ".pth", [](const std::string& path) {
    for (const auto& [name, tensor] : facekit::read_torch_state_dict(path)) (void)tensor.clone();
  });
}
