# The layer stack of layers.txt in LibTorch (Debian's python3-torch, the same 1.13 libraries facekit
# links): as LibTorch dispatches it (NCHW), and as facekit's InferenceNet runs it (oneDNN through
# at::mkldnn_convolution on channels-last maps, leaky ReLU in place). ms per forward, 1 and 2 threads.
import sys, time
import torch

K_INPUT, K_SLOPE, K_WARMUP, K_RUNS = 320, 0.1, 5, 50

layers = [tuple(map(int, line.split())) for line in open(sys.argv[1] if len(sys.argv) > 1 else "layers.txt")
          if line.strip() and not line.startswith("#")]
torch.manual_seed(0)
convs = [(torch.randn(o, i // g, k, k) * 0.1, torch.randn(o) * 0.1, s, k // 2, g) for i, o, k, s, g in layers]
channels_last = [(w.contiguous(memory_format=torch.channels_last), b, s, p, g) for w, b, s, p, g in convs]
x = torch.rand(1, 3, K_INPUT, K_INPUT)

def nchw(x):
    for w, b, s, p, g in convs:
        x = torch.nn.functional.leaky_relu(torch.conv2d(x, w, b, s, p, 1, g), K_SLOPE)
    return x

def inference_net(x):
    x = x.contiguous(memory_format=torch.channels_last)
    for w, b, s, p, g in channels_last:
        x = torch.nn.functional.leaky_relu_(torch.mkldnn_convolution(x, w, b, (p, p), (s, s), (1, 1), g), K_SLOPE)
    return x

with torch.inference_mode():
    assert (nchw(x) - inference_net(x)).abs().max() < 1e-4
    for name, forward in [("LibTorch conv2d, NCHW", nchw), ("LibTorch mkldnn_convolution, channels-last (facekit now)", inference_net)]:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for _ in range(K_WARMUP):
                forward(x)
            start = time.perf_counter()
            for _ in range(K_RUNS):
                forward(x)
            print("%s, %d thread%s: %.2f ms" % (name, threads, "s" if threads > 1 else "", (time.perf_counter() - start) / K_RUNS * 1e3))
