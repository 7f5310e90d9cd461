#!/usr/bin/env bash
# The checks that need a CUDA device, as one script: the gpu-marked tests, the simulator's tests on
# CUDA, one long simulation, and the simulator benchmark (finite-state Triton step vs per-position torch ops vs
# torch.distributions; the neural family), with the device's copy bandwidth measured in the same run.
# Usage: bash tests/device_checks.sh [OUT_DIR]   (run from the repository root; writes JSON and logs there)
set -u -o pipefail
out=${1:-device-checks}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
status=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, triton, numpy; print('torch', torch.__version__, 'triton', triton.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"
echo "== gpu-marked tests"
timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider tests/gpu_sim 2>&1 | tee "$out/gpu_tests.log" | tail -5 || status=1
echo "== benchmark: finite-state and neural families on CUDA"
timeout 180 python3 -m trm bench sim --device cuda --batch 1024 65536 --T 4096 --vocab 64 256 --neural-vocab 32768 \
    --neural-batch 1024 --json > "$out/bench_sim_cuda.json" 2> "$out/bench_sim_cuda.err" || status=1
python3 - "$out/bench_sim_cuda.json" <<'PY' || status=1
import json, sys
p = json.load(open(sys.argv[1]))
print("copy GB/s", round(p["roofline"]["copy_GBps"]), "fp64 GEMM GFLOP/s", round(p["roofline"]["gemm_GFLOPs"]))
for r in p["records"]:
    print(f"{r['kernel']:<7} B={r['batch']:>6} T={r['T']} V={r['V']:>4} suite {r['suite_tokens_per_s']:.3g} tok/s, "
          f"torch ops {r.get('torch_ops_tokens_per_s') or 0:.3g}, dist {r['torch_distributions_tokens_per_s']:.3g}, "
          f"x ops {r['speedup_vs_torch_ops'] or 0:.1f}, {r['achieved_GBps']:.0f} GB/s of {r['copy_GBps']:.0f}")
for r in p.get("neural", []):
    print(f"neural V={r['vocab']} B={r['batch']}: inverse CDF {r['inverse_cdf_tokens_per_s']:.3g} tok/s, "
          f"multinomial {r['multinomial_tokens_per_s']:.3g}, x {r['speedup']:.2f}")
PY
echo "== trm simulate: T = 65,536, 65,536 sequences in one chunk on CUDA"
python3 -m trm random --family automaton --seed 1 --T 65536 --states 16 --vocab 8 --mismatch dense --sigma 0.01 \
    --out "$out/pair.npz" --json > /dev/null || status=1
timeout 150 python3 -m trm simulate "$out/pair.npz" --samples 65536 --chunk 65536 --device cuda \
    --memory-limit 64 --time-limit 600 --json > "$out/simulate_cuda.json" 2> "$out/simulate_cuda.err" || status=1
python3 - "$out/simulate_cuda.json" <<'PY' || status=1
import json, sys
s = json.load(open(sys.argv[1]))
w, k = s["worst_case_error"], s["kl_seq"]
print(f"{s['samples']} sequences of T = {s['T']} in {s['seconds']:.2f} s on {s['device']}: "
      f"D_KL^seq {k['mean']:.5g} ± {k['se']:.2g} (exact {s['exact']['kl_seq']:.5g}), "
      f"sup_R |Error| = E[W-] {w['mean']:.5g} ± {w['se']:.2g}")
PY
echo "== simulator tests on CUDA (--device cuda)"
timeout 100 python3 -m pytest -q -x -p no:cacheprovider --device cuda tests/gpu_sim 2>&1 | tee "$out/sim_tests_cuda.log" | tail -5 || status=1
exit $status
