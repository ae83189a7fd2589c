"""The model zoo: published architectures as snapsim workloads, split over any number of chiplets.

Each model is a row of a small table of architecture hyper-parameters (RWKV-4, ResNet, VGG, ViT, below);
nothing per layer is typed by hand: every stage's MACs, parameters and output shape is computed from
conv / linear shapes. :func:`emit` renders one model split over ``parts`` chiplets as a workload file
(``NAME_pN.yaml``), with comments stating each boundary as snapsim itself cuts it (the file is loaded
with snapsim's own loader to find the cuts). ``snapsim zoo`` is the command line::

    snapsim zoo --list                               # the models, their stages and the possible splits
    snapsim zoo rwkv-1.5b --parts 6 -o rwkv6.yaml    # one split (stdout without -o)
    snapsim zoo --all --out-dir DIR                  # every shipped split (what ``make zoo`` writes)

The shipped files (``workloads/zoo/*.yaml`` in the package data, :data:`snapsim.resources.WORKLOADS`)
are the :data:`PARTITIONS` splits of every model. The output is deterministic (no timestamps, fixed
ordering), so the shipped files must equal a fresh generation (``tests/test_zoo.py`` checks this).

Counting conventions (the same for every model):

* MACs: multiply-accumulates of convolutions, linear layers and attention matmuls, per sample (one token for
  language, one 224x224 image for vision). Conv MACs = Cout * Hout * Wout * Cin * k * k / groups; linear MACs =
  in * out (per token for transformers). Not counted: bias adds, normalisation, activations, pooling,
  residual adds, softmax, RWKV's per-channel WKV recurrence and token-shift mixing (all O(d) per token).
* Parameters: trainable parameters as PyTorch counts them: weights, biases, BatchNorm / LayerNorm scale and
  shift (running statistics are buffers and are not counted), ViT class token and position embedding, RWKV
  per-channel vectors. Each stage holds the parameters of the layers it runs.
* Neurons (layer level, whatever the stage granularity): the output elements of every conv and linear layer
  a stage runs (``neurons:`` in the file when a stage has more than its output): one spiking neuron each in
  SNN-only mode, activations written and read back on die in the dense modes. A conv followed by a pool
  fires before the pool (its pre-pool output); ViT attention counts its qkv and projection outputs, the
  MLP its two linears'; an RWKV block its time-mix R, K, V, O and channel-mix key, value, receptance outputs.
  The shortcut projection folded into a ResNet block and the weight-free attention matmuls add none.
* Stage granularity: one stage per block (residual block, transformer/RWKV block) when that gives at least
  ``max(max(PARTITIONS), parts)`` stages; otherwise one stage per layer (conv/linear layer, or transformer
  sub-layer), so every shipped partition count is possible with the same stages, and any split up to the
  number of layers.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config.load import load_workload
from .errors import SnapsimError

__all__ = ["PARTITIONS", "Model", "models", "model", "stages", "max_parts", "emit", "write", "generate"]

#: The splits shipped for every model (``workloads/zoo/NAME_pN.yaml``).
PARTITIONS = (2, 4, 8, 16)
IMAGE = 224  # vision input resolution (square, 3 channels)
CLASSES = 1000

# ------------------------------------------------------------------------------------------- the table

# RWKV-4 "Pile" family (Peng et al. 2023, "RWKV: Reinventing RNNs for the Transformer Era", Table 1):
# name, layers, d_model. Vocabulary 50277 (GPT-NeoX tokenizer); embedding and head are untied.
RWKV_VOCAB = 50277
RWKV = [
    ("rwkv-0.17b", 12, 768),
    ("rwkv-0.43b", 24, 1024),
    ("rwkv-1.5b", 24, 2048),
    ("rwkv-3b", 32, 2560),
    ("rwkv-7b", 32, 4096),
    ("rwkv-14b", 40, 5120),
]

# ResNet (He et al. 2016; torchvision v1.5 layout: stride on the 3x3 conv of a bottleneck):
# name, block kind, blocks per stage. Stage widths 64, 128, 256, 512; bottleneck expansion 4.
RESNET = [
    ("resnet18", "basic", (2, 2, 2, 2)),
    ("resnet50", "bottleneck", (3, 4, 6, 3)),
]

# VGG (Simonyan & Zisserman 2015), configuration D = VGG-16: conv widths, "M" = 2x2/2 max-pool; then FC layers.
VGG = [
    ("vgg16", (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"), (4096, 4096)),
]

# ViT (Dosovitskiy et al. 2021): name, patch, layers, d_model, MLP width.
VIT = [
    ("vit-b16", 16, 12, 768, 3072),
]

# Boundary / stream settings per domain.
DOMAIN = {
    "language": dict(precision="bf16", firing_rate=0.05, snn_rate=0.1, unit="token"),
    "vision": dict(precision="int8", firing_rate=0.1, snn_rate=0.1, unit="image"),
}
TIMESTEPS = 4
STREAM = "{inferences: 64, batch: 1, injection: closed, max_in_flight: 4}"

# ---------------------------------------------------------------------------------------- layer algebra


class Layer:
    """One layer (or a fused group of layers): MACs and parameters per sample, output shape, and neurons: the
    output elements of every conv / linear layer it runs (one spiking neuron each in SNN-only mode)."""

    def __init__(self, name: str, macs: int, params: int, shape: tuple[int, ...], reads: int | None = None,
                 skip: int = 0, neurons: int | None = None):
        self.name, self.macs, self.params, self.shape = name, int(macs), int(params), tuple(int(x) for x in shape)
        self.reads = reads  # weights read per sample when only part of them is (a lookup); None: all
        self.skip = int(skip)  # elements of a residual shortcut still live after this layer (crosses a cut here)
        self.neurons = int(neurons) if neurons is not None else math.prod(self.shape)


def conv(cin: int, cout: int, k: int, stride: int, pad: int, hin: int, groups: int = 1, bias: bool = False,
         bn: bool = True) -> tuple[int, int, int]:
    """MACs, params and output height of a square conv (+ BatchNorm scale/shift when ``bn``)."""
    hout = (hin + 2 * pad - k) // stride + 1
    macs = cout * hout * hout * (cin // groups) * k * k
    params = cout * (cin // groups) * k * k + (cout if bias else 0) + (2 * cout if bn else 0)
    return macs, params, hout


def linear(fin: int, fout: int, bias: bool = True, tokens: int = 1) -> tuple[int, int]:
    """MACs (over ``tokens`` rows) and params of a linear layer."""
    return tokens * fin * fout, fin * fout + (fout if bias else 0)


def pool_out(h: int, k: int, stride: int, pad: int) -> int:
    return (h + 2 * pad - k) // stride + 1


# ---------------------------------------------------------------------------------------- model builders
# Each builder returns (groups, meta): groups is a list of blocks, each a list of Layers; meta describes the model.


def build_rwkv(layers: int, d: int):
    V = RWKV_VOCAB
    groups = [[Layer("embedding", 0, V * d + 2 * d, (d,), reads=3 * d)]]  # lookup: one row + ln0 (0 MACs)
    for i in range(layers):
        # time mixing: receptance, key, value, output (4 d^2); time_mix_k/v/r, time_decay, time_first (5 d); ln1 (2 d);
        # neurons: the outputs of its four d x d linears (4 d)
        tm = Layer(f"block{i}_tmix", 4 * d * d, 4 * d * d + 5 * d + 2 * d, (d,), neurons=4 * d)
        # channel mixing: key d x 4d, value 4d x d, receptance d x d (9 d^2); time_mix_k/r (2 d); ln2 (2 d);
        # neurons: key 4d + value d + receptance d
        cm = Layer(f"block{i}_cmix", 9 * d * d, 9 * d * d + 2 * d + 2 * d, (d,), neurons=6 * d)
        groups.append([tm, cm])
    groups.append([Layer("head", d * V, d * V + 2 * d, (V,))])  # ln_out (2 d) + untied head d x V, no bias
    names = ["embedding"] + [f"block{i}" for i in range(layers)] + ["head"]
    return groups, names


def build_resnet(kind: str, blocks: tuple[int, ...]):
    h = IMAGE
    m, p, h = conv(3, 64, 7, 2, 3, h)
    pre_pool = 64 * h * h  # the conv's neurons fire before the max-pool
    h = pool_out(h, 3, 2, 1)
    groups = [[Layer("conv1", m, p, (64, h, h), neurons=pre_pool)]]
    names = ["conv1"]
    cin = 64
    for si, (width, n) in enumerate(zip((64, 128, 256, 512), blocks)):
        for bi in range(n):
            stride = 2 if (si > 0 and bi == 0) else 1
            base = f"layer{si + 1}_{bi}"
            cout = width if kind == "basic" else 4 * width
            ds = stride != 1 or cin != cout  # projection shortcut: 1x1 conv + BN
            dm, dp = (conv(cin, cout, 1, stride, 0, h)[:2]) if ds else (0, 0)
            if kind == "basic":
                m1, p1, h1 = conv(cin, width, 3, stride, 1, h)
                m2, p2, h2 = conv(width, width, 3, 1, 1, h1)
                # the shortcut conv runs beside conv1 (same output shape), folded into conv1's stage; until the
                # residual add after conv2 the shortcut tensor (the block's output shape) is live beside conv1's
                # output, so a cut after conv1 carries both
                skip = cout * h2 * h2
                layers = [Layer(f"{base}_conv1", m1 + dm, p1 + dp, (width, h1, h1), skip=skip),
                          Layer(f"{base}_conv2", m2, p2, (width, h2, h2))]
            else:
                m1, p1, h1 = conv(cin, width, 1, 1, 0, h)
                m2, p2, h2 = conv(width, width, 3, stride, 1, h1)
                m3, p3, h3 = conv(width, cout, 1, 1, 0, h2)
                skip = cout * h3 * h3
                layers = [Layer(f"{base}_conv1", m1 + dm, p1 + dp, (width, h1, h1), skip=skip),
                          Layer(f"{base}_conv2", m2, p2, (width, h2, h2), skip=skip),
                          Layer(f"{base}_conv3", m3, p3, (cout, h3, h3))]
            h = layers[-1].shape[-1]
            groups.append(layers)
            names.append(base)
            cin = cout
    fm, fp = linear(cin, CLASSES)  # global average pool + fc
    groups.append([Layer("fc", fm, fp, (CLASSES,))])
    names.append("fc")
    return groups, names


def build_vgg(cfg: tuple, fcs: tuple[int, ...]):
    h, cin = IMAGE, 3
    layers: list[Layer] = []
    block, idx = 1, 1
    for v in cfg:
        if v == "M":  # the pool runs on the die of the conv before it: fold it into that stage's output shape
            h = pool_out(h, 2, 2, 0)
            last = layers[-1]  # its neurons fire before the pool: keep the conv's output elements
            layers[-1] = Layer(last.name, last.macs, last.params, (last.shape[0], h, h), neurons=last.neurons)
            block, idx = block + 1, 1
            continue
        m, p, h = conv(cin, v, 3, 1, 1, h, bias=True, bn=False)
        layers.append(Layer(f"conv{block}_{idx}", m, p, (v, h, h)))
        cin, idx = v, idx + 1
    fin = cin * h * h
    for j, fout in enumerate((*fcs, CLASSES)):
        m, p = linear(fin, fout)
        layers.append(Layer(f"fc{6 + j}", m, p, (fout,)))
        fin = fout
    return [[x] for x in layers], [x.name for x in layers]


def build_vit(patch: int, depth: int, d: int, mlp: int):
    n = (IMAGE // patch) ** 2
    T = n + 1  # patches + class token
    pm, pp, _ = conv(3, d, patch, patch, 0, IMAGE, bias=True, bn=False)
    groups = [[Layer("patch_embed", pm, pp + d + T * d, (T, d))]]  # + class token + position embedding
    names = ["patch_embed"]
    for i in range(depth):
        qm, qp = linear(d, 3 * d, tokens=T)
        om, op = linear(d, d, tokens=T)
        am = 2 * T * T * d  # QK^T and attention x V
        f1m, f1p = linear(d, mlp, tokens=T)
        f2m, f2p = linear(mlp, d, tokens=T)
        # ln1 + qkv + proj (neurons: the qkv and proj outputs); ln2 + fc1 + fc2 (neurons: fc1 and fc2 outputs)
        groups.append([Layer(f"enc{i}_attn", qm + am + om, 2 * d + qp + op, (T, d), neurons=4 * T * d),
                       Layer(f"enc{i}_mlp", f1m + f2m, 2 * d + f1p + f2p, (T, d), neurons=T * (mlp + d))])
        names.append(f"enc{i}")
    hm, hp = linear(d, CLASSES)
    groups.append([Layer("head", hm, 2 * d + hp, (CLASSES,))])  # final LayerNorm + classifier on the class token
    names.append("head")
    return groups, names


# ------------------------------------------------------------------------------------------ assembling


def choose_stages(groups: list[list[Layer]], names: list[str], parts: int = max(PARTITIONS)) -> tuple[list[Layer], str]:
    """One stage per block if that allows every shipped partition count and ``parts``, else one stage per layer."""
    if len(groups) >= max(max(PARTITIONS), parts):
        stages = [Layer(nm, sum(x.macs for x in g), sum(x.params for x in g), g[-1].shape,
                        g[0].reads if len(g) == 1 else None, neurons=sum(x.neurons for x in g))
                  for nm, g in zip(names, groups)]
        return stages, "block" if any(len(g) > 1 for g in groups) else "layer"
    return [x for g in groups for x in g], "layer"


def compress(stages: list[Layer]) -> list[tuple[str, int, Layer]]:
    """Runs NAME0, NAME1, ... of identical stages become one entry with ``repeat`` (expansion gives the same names)."""
    out: list[tuple[str, int, Layer]] = []
    i = 0
    while i < len(stages):
        s = stages[i]
        m = re.fullmatch(r"(.*\D)0", s.name)
        j = i + 1
        if m:
            base = m.group(1)
            while (j < len(stages) and stages[j].name == f"{base}{j - i}" and stages[j].macs == s.macs
                   and stages[j].params == s.params and stages[j].shape == s.shape and stages[j].skip == s.skip
                   and stages[j].neurons == s.neurons):
                j += 1
        if j - i >= 2:
            out.append((base, j - i, s))
        else:
            out.append((s.name, 1, s))
            j = i + 1
        i = j
    return out


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=True)


def _shape(t: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(x) for x in t) + "]"


def render(name: str, domain: str, description: str, header: list[str], input_shape: tuple[int, ...],
           stages: list[Layer], granularity: str, P: int, sources: dict[str, str]) -> str:
    dom = DOMAIN[domain]
    lines = [f"# GENERATED by `snapsim zoo {name} --parts {P}` from the tables in snapsim/zoo.py: regenerate, do not edit."]
    lines += [f"# {h}" for h in header]
    total_m = sum(s.macs for s in stages)
    total_p = sum(s.params for s in stages)
    lines.append(f"# Totals per {dom['unit']}: {total_m} MACs, {total_p} parameters; "
                 f"{len(stages)} stages ({granularity} granularity).")
    lines += [
        "kind: workload",
        f"name: {name}-p{P}",
        f"description: {_q(f'{description}, split over {P} chiplets')}",
        f"domain: {domain}",
        f"unit: {dom['unit']}",
        f"precision: {dom['precision']}",
        f"input_shape: {_shape(input_shape)}",
        "stages:",
    ]
    for nm, rep, s in compress(stages):
        r = f", repeat: {rep}" if rep > 1 else ""
        reads = "" if s.reads is None else f", weight_read_params_per_sample: {s.reads}"
        skip = f", skip_elements: {s.skip}" if s.skip else ""
        neurons = f", neurons: {s.neurons}" if s.neurons != math.prod(s.shape) else ""
        lines.append(f"  - {{name: {nm}{r}, macs: {s.macs}, weight_params: {s.params}{reads}, "
                     f"output_shape: {_shape(s.shape)}{neurons}{skip}}}")
    lines += [
        f"partition: {{count: {P}}}",
        "boundary:",
        f"  precision: {dom['precision']}",
        f"  timesteps: {TIMESTEPS}",
        f"  firing_rate: {dom['firing_rate']}",
        "  encoding: aer",
        f"snn: {{timesteps: {TIMESTEPS}, firing_rate: {dom['snn_rate']}}}",
        f"stream: {STREAM}",
        "sources:",
    ]
    src = dict(sources)
    src["boundary.firing_rate"] = (f"assumption (L): {dom['firing_rate']} spikes per boundary neuron per timestep, "
                                   "no trace exists for this model; replace with a measured rate when one does")
    src["snn.firing_rate"] = f"assumption (L): {dom['snn_rate']} for every stage in SNN-only mode"
    src["stream"] = "small default stream for sweeps (64 inferences, closed loop, 4 in flight); override as needed"
    for k, v in src.items():
        lines.append(f"  {k}: {_q(v)}")
    return "\n".join(lines) + "\n"


COMMON_SOURCES = {
    "counting": ("MACs: conv (Cout*Hout*Wout*Cin*k*k/groups), linear and attention matmuls only; not counted: biases, "
                 "norms, activations, pooling, residual adds, softmax. Params: weights + biases + norm scale/shift "
                 "(BatchNorm running stats are buffers, not counted), as PyTorch counts trainable parameters"),
}
NEURON_SOURCE = ("layer-level neuron counts: the output elements of every conv and linear layer a stage runs (a conv "
                 "followed by a pool counted before the pool); one spiking neuron each in SNN-only mode")


@dataclass(frozen=True)
class Model:
    """One zoo model: its layers grouped by block, and the text that goes with every file of it."""

    name: str
    domain: str
    input_shape: tuple[int, ...]
    groups: list[list[Layer]]
    names: list[str]  # one per group
    description: str
    header: list[str]
    sources: dict[str, str]
    layer_sources: dict[str, str]  # added when the stages are single layers

    @property
    def layers(self) -> int:
        return sum(len(g) for g in self.groups)


def models() -> list[Model]:
    """Every zoo model, in the order ``snapsim zoo --list`` shows them."""
    out = []
    for name, L, d in RWKV:
        groups, names = build_rwkv(L, d)
        out.append(Model(
            name=name, domain="language", input_shape=(1,), groups=groups, names=names,
            description=f"RWKV-4 {L} layers x {d}, vocab {RWKV_VOCAB}, bf16, one token per sample",
            header=[f"RWKV-4 (Pile) {L} x {d}, vocab {RWKV_VOCAB}; recurrent: per token the state per layer stays on its die.",
                    "Per block: time-mix R,K,V,O 4 d^2 + channel-mix key d x 4d, value 4d x d, receptance d x d 9 d^2 = 13 d^2."],
            sources={
                "stages": (f"RWKV-4 block accounting (Peng et al. 2023, 'RWKV: Reinventing RNNs for the Transformer Era'): "
                           f"13 d^2 MACs and 13 d^2 + 11 d params per block (11 d = time_mix_k/v/r, time_decay, time_first, "
                           f"channel-mix time_mix_k/r, ln1, ln2); embedding {RWKV_VOCAB} x d lookup (0 MACs) + ln0; head "
                           f"ln_out + untied d x {RWKV_VOCAB} (d*vocab MACs). The WKV recurrence and token shift are O(d) "
                           f"per token and not counted as MACs"),
                "totals": ("checked against Peng et al. 2023 Table 1 (parameters; FLOPs per token = 2 x MACs) within 2% by "
                           "tests/test_zoo.py; note the '7B' model really has 7.39e9 parameters"),
                "stages.embedding": ("weight_params holds the whole vocab x d table (it is stored); a lookup reads one "
                                     "row plus ln0 per token: weight_read_params_per_sample 3 d"),
                "input_shape": "one token id per sample",
            },
            layer_sources={}))
    for name, kind, blocks in RESNET:
        groups, names = build_resnet(kind, blocks)
        depth = 2 + sum(blocks) * (2 if kind == "basic" else 3)
        out.append(Model(
            name=name, domain="vision", input_shape=(3, IMAGE, IMAGE), groups=groups, names=names,
            description=f"ResNet-{depth}, {IMAGE}x{IMAGE}, int8",
            header=[f"ResNet-{depth} at {IMAGE}x{IMAGE} ({kind} blocks {list(blocks)}), MACs/params from the conv shapes."],
            sources={"stages": (f"layer shapes of He et al. 2016 (ResNet-{depth}, torchvision v1.5 layout), {IMAGE}x{IMAGE}; "
                                "conv1 includes the 3x3/2 max-pool; a block's 1x1 projection shortcut is folded into its "
                                "first conv's stage; fc includes the global average pool"),
                     **COMMON_SOURCES},
            layer_sources={"stages.skip_elements": ("per-layer stages: until a block's residual add, its shortcut tensor "
                                                    "(the block's output shape, after the projection when there is one) is "
                                                    "live, so a cut after conv1 (or conv2) carries it beside the layer output")}))
    for name, cfg, fcs in VGG:
        groups, names = build_vgg(cfg, fcs)
        n_conv = sum(1 for v in cfg if v != "M")
        out.append(Model(
            name=name, domain="vision", input_shape=(3, IMAGE, IMAGE), groups=groups, names=names,
            description=f"VGG-{n_conv + len(fcs) + 1}, {IMAGE}x{IMAGE}, int8",
            header=[f"VGG-{n_conv + len(fcs) + 1} (config D) at {IMAGE}x{IMAGE}: {n_conv} 3x3 convs + {len(fcs) + 1} FC, "
                    "each max-pool folded into the conv before it."],
            sources={"stages": "layer shapes of Simonyan & Zisserman 2015 (configuration D), convs and FCs with biases, no BN",
                     **COMMON_SOURCES},
            layer_sources={}))
    for name, patch, depth, d, mlp in VIT:
        groups, names = build_vit(patch, depth, d, mlp)
        T = (IMAGE // patch) ** 2 + 1
        out.append(Model(
            name=name, domain="vision", input_shape=(3, IMAGE, IMAGE), groups=groups, names=names,
            description=f"ViT-B/{patch}, {IMAGE}x{IMAGE}, {depth} layers x {d}, int8",
            header=[f"ViT {depth} layers x {d}, MLP {mlp}, {T} tokens ({patch}x{patch} patches + class token).",
                    "Pre-LN sub-layers (attention, MLP) are stages: a cut between them carries only the residual stream."],
            sources={"stages": (f"Dosovitskiy et al. 2021 (ViT-B/{patch}): patch embed conv {patch}x{patch}/{patch}; per layer "
                                f"QKV {T}x{d}x{3 * d}, attention 2*{T}^2*{d}, projection {T}x{d}^2, MLP 2*{T}x{d}x{mlp}; "
                                "patch_embed also holds the class token and position embedding, head the final LayerNorm"),
                     **COMMON_SOURCES},
            layer_sources={}))
    return out


def model(name: str) -> Model:
    """The zoo model called ``name``; :class:`SnapsimError` listing the models if there is none."""
    found = {m.name: m for m in models()}
    if name not in found:
        raise SnapsimError(f"unknown zoo model {name!r}; models: {', '.join(found)} (snapsim zoo --list)")
    return found[name]


def max_parts(m: Model) -> int:
    """The largest split of ``m``: one stage per layer, one stage per chiplet."""
    return m.layers


def stages(m: Model, parts: int) -> tuple[list[Layer], str]:
    """The stages of ``m`` split over ``parts`` chiplets and their granularity (``block`` or ``layer``)."""
    return choose_stages(m.groups, m.names, parts)


def _with_cut_comments(text: str, path: Path, domain: str) -> str:
    """State each boundary of the file: where snapsim cuts (MAC-balanced), what crosses and at what firing rate."""
    wl = load_workload(path)  # the cuts are snapsim's own, computed from the file just written
    rate = DOMAIN[domain]["firing_rate"]
    notes = ["# Boundaries (MAC-balanced cuts as snapsim computes them; every boundary uses the `boundary:` settings,",
             f"# firing rate {rate} per neuron per timestep, an assumption: no trace exists for this model):"]
    for b, part in enumerate(wl.partitions()[:-1]):
        last = part[-1]
        what = f"output {_shape(last.output_shape)}"
        if last.skip_elements:
            what += f" + shortcut {last.skip_elements}"
        notes.append(f"#   {b}: after {last.name}: {last.live_elements} elements per {wl.unit} ({what})")
    lines = text.splitlines()
    at = lines.index("boundary:")
    return "\n".join(lines[:at] + notes + lines[at:]) + "\n"


def emit(name: str, parts: int) -> str:
    """The workload file (YAML text) of zoo model ``name`` split over ``parts`` chiplets.

    Raises :class:`SnapsimError` for an unknown model or a split it cannot have (1 to one chiplet per layer)."""
    m = model(name)
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= max_parts(m):
        raise SnapsimError(f"{name}: parts must be an integer from 1 to {max_parts(m)} (one chiplet per layer); "
                           f"got {parts!r}")
    st, gran = stages(m, parts)
    sources = {**m.sources, "stages.neurons": NEURON_SOURCE, **(m.layer_sources if gran == "layer" else {})}
    text = render(m.name, m.domain, m.description, m.header, m.input_shape, st, gran, parts, sources)
    with tempfile.TemporaryDirectory(prefix="snapsim-zoo-") as tmp:
        path = Path(tmp) / f"{m.name}_p{parts}.yaml"
        path.write_text(text, encoding="utf-8")
        return _with_cut_comments(text, path, m.domain)


def write(name: str, parts: int, path: str | Path) -> Path:
    """Write :func:`emit`'s file to ``path`` (parent directories created) and return the path."""
    text = emit(name, parts)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def generate(out_dir: str | Path) -> list[Path]:
    """Write every shipped split (every model at every count of :data:`PARTITIONS`) into ``out_dir``."""
    out_dir = Path(out_dir)
    return [write(m.name, P, out_dir / f"{m.name}_p{P}.yaml") for m in models() for P in PARTITIONS]
