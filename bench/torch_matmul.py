"""Single matrix products in PyTorch, as the per-op baseline of bench/profileTraining.ts.

Usage: python3 torch_matmul.py '[[batch, m, k, n], ...]' <threads>  → one JSON line: GFLOP/s per product
(2·batch·m·k·n / median time of 30 runs after 5 warm-ups).
"""
import json
import statistics
import sys
import time

import torch

products = json.loads(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))
rates = []
for batch, m, k, n in products:
    a, b = torch.randn(batch, m, k), torch.randn(batch, k, n)
    for _ in range(5):
        torch.matmul(a, b)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    rates.append(2 * batch * m * k * n / statistics.median(times) / 1e9)
print(json.dumps(rates))
