"""Record mergekit 0.1.5's outputs on a fixed small tensor set (scratch venv with mergekit installed)."""
import json

import torch
from mergekit.merge_methods import registry
from mergekit.merge_methods.base import TensorGroup
from mergekit.sparsify import RescaleNorm, rescaled_masked_tensor

base = torch.tensor([[0.5, -1.0, 2.0, 0.0, 1.5], [-0.25, 0.75, -2.0, 1.0, 0.1]])
a = base + torch.tensor([[0.3, -0.2, 0.05, 0.4, -0.6], [0.1, -0.7, 0.2, -0.05, 0.9]])
b = base + torch.tensor([[-0.5, 0.1, 0.25, -0.1, 0.35], [0.6, 0.15, -0.3, 0.02, -0.4]])
bias_base = torch.tensor([1.0, -1.0, 0.5])
bias_a = bias_base + torch.tensor([0.2, -0.3, 0.1])
bias_b = bias_base + torch.tensor([-0.4, 0.05, 0.3])

def run(method, tensors, shared, weights, densities):
    m = registry.get(method)
    group = TensorGroup.from_tensors(tensors, base_index=0 if method != "linear" else None)
    ids = [e.id for e in group.entries if not e.is_base]
    params = {**shared, "weight": dict(zip(ids, weights, strict=True))}
    if densities is not None:
        params["density"] = dict(zip(ids, densities, strict=True))
    return m.merge_group(group, **params).tolist()

cases = {
  "ties_w.6_.4_d.5": run("ties", [base, a, b], {"normalize": True, "int8_mask": False, "rescale": False, "lambda": 1.0}, [0.6, 0.4], [0.5, 0.5]),
  "ties_w1_1_d.3_lambda.8_int8": run("ties", [base, a, b], {"normalize": True, "int8_mask": True, "rescale": False, "lambda": 0.8}, [1.0, 1.0], [0.3, 0.3]),
  "ties_nonormalize_w.5_.5_d.7": run("ties", [base, a, b], {"normalize": False, "int8_mask": False, "rescale": False, "lambda": 1.0}, [0.5, 0.5], [0.7, 0.7]),
  "ties_bias_d.1_keeps_one": run("ties", [bias_base, bias_a, bias_b], {"normalize": True, "int8_mask": False, "rescale": False, "lambda": 1.0}, [0.5, 0.5], [0.1, 0.1]),
  "dare_linear_d1_w.5_.5": run("dare_linear", [base, a, b], {"normalize": False, "int8_mask": False, "rescale": True, "lambda": 1.0}, [0.5, 0.5], [1.0, 1.0]),
  "dare_linear_d1_normalize_w2_1": run("dare_linear", [base, a, b], {"normalize": True, "int8_mask": False, "rescale": True, "lambda": 1.0}, [2.0, 1.0], [1.0, 1.0]),
}
mask = torch.tensor([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1]], dtype=torch.float32)
cases["l1_rescale_of_delta_a"] = rescaled_masked_tensor(a - base, mask, RescaleNorm.l1).tolist()
print(json.dumps(cases, indent=1))
