"""MACs of the looped, gated and Fourier stacks, written from transformers 5.24's modelling code
(read for this test, not from cosamt): Dory, NeoMME, FNet, Mllama's text model,
RWKV, Recurrent Gemma, ConvBERT, Nystromformer, YOSO, Zamba, Zamba2, XLNet. Used by tests/test_hf_corpus.py and
tests/test_hf_misc.py. Prefill, batch 1, ``m`` tokens, full-matrix attention."""

from __future__ import annotations

from typing import Any

MISC = ("dory", "neomme", "fnet", "mllama", "rwkv", "recurrent_gemma", "convbert", "nystromformer",
        "yoso", "zamba", "zamba2", "xlnet")  # fmt: skip


def gated_attention(m: int, n: int, d: int, heads: int, kv: int, dh: int) -> int:
    """q, k, v projections, QK^T and PV over n keys, a sigmoid gate's projection hidden ->
    heads x head_dim, the output projection."""
    proj = m * d * (heads + 2 * kv) * dh
    return proj + 2 * heads * m * n * dh + m * d * heads * dh + m * heads * dh * d


def dory_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """DoryConfig.__post_init__ pairs the released (attention, mlp) blocks into layers and halves
    the counts; DoryModel.forward runs layers[:n_in], then layers[n_in:n_in + n_rec]
    n_recurrent_loops times, then the last n_out. Each DoryDecoderLayer: DoryAttention (q, k,
    v, gate_proj, o_proj; sliding_window keys on sliding_attention layers) and DoryMLP
    (gate_proj, up_proj, down_proj of intermediate_size)."""
    kinds = cfg["layer_types"]
    halve = "mlp" in kinds
    kinds = kinds[::2] if halve else kinds
    n_in = cfg["n_input_layers"] // (2 if halve else 1)
    n_out = cfg["n_output_layers"] // (2 if halve else 1)
    n_rec = len(kinds) - n_in - n_out
    ran = kinds[:n_in] + kinds[n_in : n_in + n_rec] * cfg["n_recurrent_loops"] + kinds[-n_out:]
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                          "num_key_value_heads", "head_dim"))  # fmt: skip
    total = 0
    for kind in ran:
        n = min(m, cfg["sliding_window"]) if kind == "sliding_attention" else m
        total += gated_attention(m, n, d, heads, kv, dh) + 3 * m * d * cfg["intermediate_size"]
    return {"dense": total}


def misc_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MACs per kind of block of one of MISC's types."""
    formulas = {"dory": dory_macs, "neomme": neomme_macs, "fnet": fnet_macs,
                "mllama": mllama_macs, "rwkv": rwkv_macs,
                "recurrent_gemma": recurrent_gemma_macs, "convbert": convbert_macs,
                "nystromformer": nystromformer_macs, "yoso": yoso_macs, "zamba": zamba_macs,
                "zamba2": zamba2_macs, "xlnet": xlnet_macs}  # fmt: skip
    return formulas[cfg["model_type"]](cfg, m)


def neomme_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """NeoMMEEncoderLayer i: NeoMMEAttention (q, k, v; the bidirectional band |q - k| <= w of
    its per_layer_config window w, the config's sliding_window where per_layer_config leaves
    a sliding layer out, all keys on full layers; NeoMMESigmoidGatedProjection: gate_proj
    hidden -> heads x head_dim and o_proj), then NeoMMEMLP (up_proj, down_proj)."""
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                          "num_key_value_heads", "head_dim"))  # fmt: skip
    per_layer = cfg.get("per_layer_config") or {}
    total = 0
    for i, kind in enumerate(cfg["layer_types"]):
        w = per_layer.get(f"{i:02d}", {}).get("sliding_window", cfg["sliding_window"])
        n = min(m, 2 * w + 1) if kind == "sliding_attention" else m
        total += gated_attention(m, n, d, heads, kv, dh) + 2 * m * d * cfg["intermediate_size"]
    return {"dense": total}


def fnet_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """FNetLayer: y = Re(F_m X F_d) (FNetBasicFourierTransform; Lee-Thorp et al. 2021, eq. 3)
    with the DFT matrices F = C - iS and X real: X C_d and X S_d (m d^2 real MACs each), then
    Re(F_m (X C_d - i X S_d)) = C_m (X C_d) - S_m (X S_d) (m^2 d each); then the intermediate
    and output denses (hidden <-> intermediate_size)."""
    d, ff = cfg["hidden_size"], cfg["intermediate_size"]
    layer = 2 * m * d * d + 2 * m * m * d + 2 * m * d * ff
    return {"dense": cfg["num_hidden_layers"] * layer}


def mllama_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """MllamaModel: the vision tower's output for one image, max_num_tiles tiles of
    (image_size // patch_size)^2 + 1 patches (MllamaVisionModel.num_patches), projected to
    hidden_size (multi_modal_projector, not counted: the vision side). MllamaTextModel: at
    cross_attention_layers MllamaTextCrossAttention (q_proj of the m text tokens, k_proj and
    v_proj of the v vision tokens, QK^T and PV over them, o_proj) and the MLP; elsewhere
    Llama's self-attention layer (MllamaTextSelfAttention) and the MLP. head_dim = hidden /
    heads in both."""
    text, vision = cfg["text_config"], cfg["vision_config"]
    v = vision["max_num_tiles"] * ((vision["image_size"] // vision["patch_size"]) ** 2 + 1)
    d, heads, kv = text["hidden_size"], text["num_attention_heads"], text["num_key_value_heads"]
    dh, mlp = d // heads, 3 * m * d * text["intermediate_size"]
    cross = m * d * heads * dh + v * d * 2 * kv * dh + 2 * heads * m * v * dh + m * heads * dh * d
    self_attn = m * d * (heads + 2 * kv) * dh + 2 * heads * m * m * dh + m * heads * dh * d
    n_cross = len(set(text["cross_attention_layers"]))
    n_self = text["num_hidden_layers"] - n_cross
    return {"dense": n_cross * (cross + mlp) + n_self * (self_attn + mlp)}


def rwkv_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """RwkvBlock (RWKV-4, Peng et al. 2023, sec. 4): RwkvSelfAttention's key, value and
    receptance (hidden -> attention_hidden_size) and output (back) projections, the WKV
    recurrence elementwise (no MACs); RwkvFeedForward's key (hidden -> intermediate_size, 4 x
    hidden when None), value (back) and receptance (hidden -> hidden)."""
    d = cfg["hidden_size"]
    att = cfg.get("attention_hidden_size") or d
    ff = cfg.get("intermediate_size") or 4 * d
    layer = 3 * m * d * att + m * att * d + 2 * m * d * ff + m * d * d
    return {"dense": cfg["num_hidden_layers"] * layer}


def recurrent_gemma_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """RecurrentGemmaModel (Griffin, De et al. 2024): layer i is block_types[i % len] (the
    config's layers_block_type). RecurrentGemmaRecurrentBlock: linear_y and linear_x (hidden ->
    lru_width), a depthwise conv1d of conv1d_width taps, RecurrentGemmaRglru's two gates
    (torch.baddbmm with num_attention_heads blocks of (lru_width / heads)^2), linear_out.
    RecurrentGemmaAttention: q, k, v, o, causal keys within attention_window_size.
    RecurrentGemmaMlp on every layer: gate, up, down of intermediate_size // 2."""
    d, heads, kv, dh = (cfg[k] for k in ("hidden_size", "num_attention_heads",
                                          "num_key_value_heads", "head_dim"))  # fmt: skip
    w, block = cfg["lru_width"], cfg["lru_width"] // heads
    recurrent = 2 * m * d * w + m * w * cfg["conv1d_width"] + 2 * m * heads * block * block
    recurrent += m * w * d
    n = min(m, cfg["attention_window_size"])
    attention = m * d * (heads + 2 * kv) * dh + 2 * heads * m * n * dh + m * heads * dh * d
    mlp = 3 * m * d * (cfg["intermediate_size"] // 2)
    kinds = cfg["block_types"]
    layers = [kinds[i % len(kinds)] for i in range(cfg["num_hidden_layers"])]
    return {"dense": sum((recurrent if k == "recurrent" else attention) + mlp for k in layers)}


def convbert_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """ConvBertLayer (Jiang et al. 2020, sec. 3): ConvBertSelfAttention with h =
    num_attention_heads // head_ratio heads of a = (hidden // h) // 2 features, A = h a:
    query, key, value (hidden -> A); key_conv_attn_layer, a SeparableConv1D (depthwise k taps
    over hidden, pointwise hidden -> A); conv_kernel_layer (A -> h k); conv_out_layer (hidden ->
    A); the unfolded span times its kernel (a x k per head and token); QK^T and PV over m keys;
    ConvBertSelfOutput's dense (2 A = hidden -> hidden); the intermediate and output denses."""
    d, ff, k = cfg["hidden_size"], cfg["intermediate_size"], cfg["conv_kernel_size"]
    h = max(1, cfg["num_attention_heads"] // cfg["head_ratio"])
    a = (d // h) // 2
    width = h * a
    span = m * d * k + m * d * width + m * width * h * k + m * d * width + m * h * a * k
    attention = 3 * m * d * width + 2 * h * m * m * a + m * 2 * width * d
    return {"dense": cfg["num_hidden_layers"] * (span + attention + 2 * m * d * ff)}


def nystromformer_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """NystromformerLayer with num_landmarks == segment_means_seq_len: BERT's layer (query,
    key, value, softmax(Q K^T) V over m keys, the output dense, the intermediate and output
    denses) plus NystromformerSelfAttention.conv, a Conv2d of kernel (conv_kernel_size, 1)
    with groups = heads: conv_kernel_size MACs per value element."""
    d, ff, heads = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"]
    dh = d // heads
    layer = 4 * m * d * d + 2 * heads * m * m * dh + 2 * m * d * ff
    layer += m * d * (cfg["conv_kernel_size"] or 0)
    return {"dense": cfg["num_hidden_layers"] * layer}


def yoso_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """YosoLayer with use_expectation: query, key, value; YosoCumulation's q k^T and E v over
    all m keys (E elementwise: no MACs); YosoSelfOutput's dense; the intermediate and output
    denses; with conv_window, the Conv2d of kernel (conv_window, 1), groups = heads, over V
    (conv_window MACs per value element)."""
    d, ff, heads = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"]
    layer = 4 * m * d * d + 2 * heads * m * m * (d // heads) + 2 * m * d * ff
    layer += m * d * (cfg.get("conv_window") or 0)
    return {"dense": cfg["num_hidden_layers"] * layer}


def zamba_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """ZambaModel (Glorioso et al. 2024): every layer a ZambaMambaDecoderLayer's
    ZambaMambaMixer (in_proj hidden -> 2 E, the depthwise conv of mamba_d_conv taps, per Mamba
    head x_proj (E / heads -> dt_rank + 2 N) and dt_proj (dt_rank -> E / heads), the readout
    C . h over N states per channel, out_proj E -> hidden; E = mamba_expand x hidden); on the
    hybrid layers first the shared ZambaAttentionDecoderLayer (q, k, v from the 2 x hidden
    concatenation, QK^T and PV over m keys, o_proj to hidden, ZambaMLP's gate, up, down) and
    the layer's linear (hidden -> hidden)."""
    d, heads, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    e, n, r = cfg["mamba_expand"] * d, cfg["mamba_d_state"], cfg["mamba_dt_rank"]
    dh = cfg.get("attention_head_dim") or 2 * d // heads  # ZambaConfig.__post_init__
    mamba = m * d * 2 * e + m * e * cfg["mamba_d_conv"] + m * e * (r + 2 * n) + m * r * e
    mamba += m * e * n + m * e * d
    shared = m * 2 * d * (heads + 2 * kv) * dh + 2 * heads * m * m * dh + m * heads * dh * d
    shared += 3 * m * d * cfg["intermediate_size"] + m * d * d
    hybrid = cfg["layers_block_type"].count("hybrid")
    return {"dense": cfg["num_hidden_layers"] * mamba + hybrid * shared}


def zamba2_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """Zamba2Model: every layer a Zamba2MambaDecoderLayer's Zamba2MambaMixer (Mamba-2: in_proj
    hidden -> E + conv_dim + heads with conv_dim = E + 2 groups N, the depthwise conv over
    conv_dim, per head the head_dim x N state written (x B^T) and read out (h C), out_proj; E =
    mamba_expand x hidden); on the hybrid layers first the shared Zamba2AttentionDecoderLayer
    (Zamba2Config.__post_init__: 2 x hidden in, head_dim 2 x hidden // heads; q, k, v, QK^T and
    PV over m keys, o_proj to hidden; Zamba2MLP: gate_up_proj hidden -> 2 x intermediate, its
    adapter hidden -> adapter_rank -> 2 x intermediate, down_proj) and the layer's linear."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv, ff = cfg.get("num_key_value_heads") or heads, cfg.get("intermediate_size") or 4 * d
    e, n, g = cfg["mamba_expand"] * d, cfg["mamba_d_state"], cfg["mamba_ngroups"]
    conv_dim, dh, rank = e + 2 * g * n, 2 * d // heads, cfg["adapter_rank"]
    mamba = m * d * (e + conv_dim + cfg["n_mamba_heads"]) + m * conv_dim * cfg["mamba_d_conv"]
    mamba += 2 * m * e * n + m * e * d
    shared = m * 2 * d * (heads + 2 * kv) * dh + 2 * heads * m * m * dh + m * heads * dh * d
    shared += m * d * 2 * ff + m * d * rank + m * rank * 2 * ff + m * ff * d + m * d * d
    hybrid = cfg["layers_block_type"].count("hybrid")
    return {"dense": cfg["num_hidden_layers"] * mamba + hybrid * shared}


def xlnet_macs(cfg: dict[str, Any], m: int) -> dict[str, int]:
    """XLNetLayer on the content stream of a first segment (XLNetModel.forward without
    target_mapping or mems: klen = qlen = m): XLNetRelativeAttention's q, k, v (d_model ->
    n_head x d_head), r over the klen + qlen relative positions of attn_type bi
    (relative_positional_encoding), ac = (q + r_w_bias) k^T over m keys, bd = (q + r_r_bias)
    k_r^T over 2 m positions, P.V, o back to d_model; XLNetFeedForward's layer_1 and layer_2
    (d_inner)."""
    d, heads, dh, ff = cfg["d_model"], cfg["n_head"], cfg["d_head"], cfg["d_inner"]
    width, pos = heads * dh, 2 * m
    attention = 3 * m * d * width + pos * d * width + heads * m * m * dh
    attention += heads * m * pos * dh + heads * m * m * dh + m * width * d
    return {"dense": cfg["n_layer"] * (attention + 2 * m * d * ff)}
