"""Training throughput of torchvision's Inception-v3 in a plain PyTorch loop: the same step as
tools/bench/bench_train_classifier.cpp (train mode, cross-entropy, backward, SGD with momentum, random
inputs and labels). Run with Debian's python: /usr/bin/python3 tools/bench/train_classifier_torch.py
--threads 2 --batch 16 --size 128 --steps 10"""
import argparse
import time

import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--batch", type=int, default=16)
parser.add_argument("--size", type=int, default=128)
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--warmup", type=int, default=2)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
net = torchvision.models.inception_v3(weights=None, num_classes=2, aux_logits=False, init_weights=False)
net.train()
optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
inputs = torch.randn(args.batch, 3, args.size, args.size)
labels = torch.randint(0, 2, (args.batch,))


def step():
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(inputs), labels)
    loss.backward()
    optimizer.step()


for _ in range(args.warmup):
    step()
start = time.perf_counter()
for _ in range(args.steps):
    step()
seconds = time.perf_counter() - start
print(f"PyTorch (python, torchvision): {args.steps * args.batch / seconds:.2f} img/s "
      f"({args.steps} steps of {args.batch} at {args.size} px, width 1.00, {args.threads} threads)")
