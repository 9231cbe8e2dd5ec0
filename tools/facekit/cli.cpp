#include "tools/facekit/cli.h"

#include <malloc.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include <opencv2/core.hpp>

namespace facekit::cli {

TemporaryFolder::TemporaryFolder(const std::string& prefix)
    : path(std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))) {
  std::filesystem::create_directories(path);
}

TemporaryFolder::~TemporaryFolder() {
  std::error_code ignored;  // a destructor must not throw; a leftover folder is harmless
  std::filesystem::remove_all(path, ignored);
}

void add_runtime_options(po::options_description* options) {
  options->add_options()
      ("threads", po::value<int>()->default_value(0), "threads for LibTorch and OpenCV (0: all cores)")
      ("device", po::value<std::string>()->default_value("cpu"), "cpu or cuda[:index]");
}

namespace {

// glibc serves an allocation above its mmap threshold with fresh pages and unmaps them on free,
// and it trims the heap's free top above its trim threshold. The mmap threshold starts at 128 KiB
// and rises (to 32 MiB at most, the trim threshold with it) only after such a block is freed, so
// whether a photo's buffers of a few MB came back zero-filled page by page from the kernel
// depended on what had run before: `eval detector` spent 21 ms per wider-val-dev photo with
// Yolo-Fastest 1.1 and 10 ms with the thresholds raised (the larger XL raised them itself). Start
// where the heuristic ends; a process keeps up to 128 MiB of freed memory for reuse.
void keep_freed_memory_for_reuse() {
  constexpr int kMmapThreshold = 32 << 20, kTrimThreshold = 128 << 20;
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
}

}  // namespace

torch::Device apply_runtime_options(const po::variables_map& vm) {
  keep_freed_memory_for_reuse();
  int threads = vm["threads"].as<int>();
  if (threads < 0) throw UsageError("--threads must be >= 0");
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // LibTorch starts with one intra-op thread in some builds: always set it explicitly.
  at::set_num_threads(threads);
  cv::setNumThreads(threads);
  std::cerr << "threads: " << at::get_num_threads() << " LibTorch, " << cv::getNumThreads() << " OpenCV\n";
  const std::string device = vm["device"].as<std::string>();
  if (device.rfind("cuda", 0) == 0 && !torch::cuda::is_available()) {
    throw std::runtime_error("--device " + device + ": this LibTorch build has no CUDA device available");
  }
  if (device != "cpu" && device.rfind("cuda", 0) != 0) {
    throw UsageError("--device must be cpu or cuda[:index], got '" + device + "'");
  }
  return torch::Device(device);
}

bool parse_options(const std::vector<std::string>& args, const po::options_description& options,
                   const std::string& usage, po::variables_map* vm) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(all).run(), *vm);
    if (vm->count("help")) {
      std::cout << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + "\n\n" + usage);
  }
  return true;
}

int run_guarded(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const c10::Error& e) {
    std::cerr << program << ": error: " << e.what_without_backtrace() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return kExitFailure;
  }
}

int dispatch(const std::string& prefix, const std::vector<Command>& commands,
             const std::vector<std::string>& args) {
  const auto print_commands = [&](std::ostream& out) {
    size_t width = 0;
    for (const auto& command : commands) width = std::max(width, command.name.size());
    out << "usage: " << prefix << " <command> [options]\n\ncommands:\n";
    for (const auto& command : commands) {
      out << "  " << command.name << std::string(width + 3 - command.name.size(), ' ') << command.summary << "\n";
    }
    out << "\n'" << prefix << " <command> --help' explains a command.\n";
  };
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_commands(std::cout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  for (const auto& command : commands) {
    if (command.name == args[0]) return command.run({args.begin() + 1, args.end()});
  }
  std::ostringstream message;
  message << "unknown command '" << args[0] << "'\n\n";
  print_commands(message);
  throw UsageError(message.str());
}

}  // namespace facekit::cli
