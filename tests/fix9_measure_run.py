import json, sys, time
import torch
torch.set_num_threads(1)
from resnext_viz.blocks.builder import BlockConfig
from resnext_viz.blocks.forms import FormSpec, compare_forms
from resnext_viz.blocks.timing import time_block
from resnext_viz import budget
kind, params, dtype, b = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
def rss():
    return status("VmRSS:")
# warm the kernels on a tiny case so library start-up is not counted
if kind == "block":
    time_block(BlockConfig(inplanes=8, planes=4, cardinality=2, base_width=32, batch=1, height=4, width=4), "cpu", dtype, 0.01)
    cfg = BlockConfig(**params); est = budget.block_estimate(cfg, dtype, b)
    fn = lambda: time_block(cfg, "cpu", dtype, b)
else:
    compare_forms(FormSpec(c_in=8, C=2, d=2, c_out=8, height=4, width=4), "cpu", dtype, budget_s=0.01)
    spec = FormSpec(**params); est = budget.forms_estimate(spec, dtype, b)
    fn = lambda: compare_forms(spec, "cpu", dtype, budget_s=b)
before = rss(); t0 = time.perf_counter(); fn(); wall = time.perf_counter() - t0
peak = status("VmHWM:")  # this process image's peak; ru_maxrss would carry the parent's peak over exec
print(json.dumps({"wall": wall, "mem": peak - before, "est_s": est.seconds, "est_b": est.bytes}))
