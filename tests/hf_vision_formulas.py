"""MACs of hierarchical vision backbones, from the papers and transformers' modelling code (read for
this test, not from cosamt). Used by tests/test_hf_corpus.py and tests/test_hf_vision_stages.py."""

from __future__ import annotations

from typing import Any

# Swinv2SelfAttention.continuous_position_bias_mlp: Linear(2, 512), ReLU, Linear(512, heads).
SWINV2_CPB_HIDDEN = 512


def swinv2_macs(cfg: dict[str, Any]) -> int:
    """Swin V2 (Liu et al. 2022, arXiv:2111.09883; modeling_swinv2.py): Swin's stages (width
    C 2^i on an (H / patch / 2^i)^2 grid, attention in w x w windows, w = min(window, grid) as
    Swinv2Layer._compute_window_shift sets it) with, per layer, the bias MLP over the (2w - 1)^2
    entries of relative_coords_table (2 -> 512 -> heads); patch merging 4C -> 2C between
    stages. The cosine normalisation, logit scale, sigmoid and norms are not MACs."""
    side = cfg["image_size"] // cfg["patch_size"]
    total = 0
    for i, (depth, heads) in enumerate(zip(cfg["depths"], cfg["num_heads"], strict=True)):
        c, grid = cfg["embed_dim"] * 2**i, side // 2**i
        tokens, window = grid * grid, min(cfg["window_size"], grid)
        # query, key, value; QK^T and P.V over window^2 keys; the output dense; the MLP.
        layer = 3 * tokens * c * c + 2 * tokens * window**2 * c + tokens * c * c
        layer += 2 * tokens * c * int(cfg["mlp_ratio"] * c)
        layer += (2 * window - 1) ** 2 * (2 * SWINV2_CPB_HIDDEN + SWINV2_CPB_HIDDEN * heads)
        total += depth * layer
        if i + 1 < len(cfg["depths"]):
            total += (tokens // 4) * 4 * c * 2 * c  # Swinv2PatchMerging.reduction
    return total


# CvtConfig has no image size; AutoImageProcessor maps cvt to ConvNextImageProcessor, whose
# default size {"shortest_edge": 384} warps images to 384 x 384.
CVT_IMAGE = 384


def cvt_macs(cfg: dict[str, Any]) -> int:
    """CvT (Wu et al. 2021, arXiv:2103.15808, sec. 3; modeling_cvt.py): stage i's token
    embedding is Conv2d(C_in, C, patch_sizes[i], patch_stride[i], patch_padding[i]) (output side
    (H + 2p - k) // s + 1); each CvtLayer projects Q, K, V by depthwise k x k convolutions
    (kernel_qkv; K and V of stride stride_kv, so a (side + 2 padding_kv - k) // stride_kv + 1
    grid) then Linear(C, C) each, a class token (cls_token) joining queries, keys and values
    unconvolved; Q.K^T and P.V; the output dense; the MLP of int(C * mlp_ratio). CvT-13 at 224:
    4.5 G (their Table 2)."""
    side, cin, total = cfg.get("image_size") or CVT_IMAGE, cfg["num_channels"], 0
    for i, depth in enumerate(cfg["depth"]):
        c, k, kq = cfg["embed_dim"][i], cfg["patch_sizes"][i], cfg["kernel_qkv"][i]
        side = (side + 2 * cfg["patch_padding"][i] - k) // cfg["patch_stride"][i] + 1
        total += side * side * k * k * cin * c
        kv = (side + 2 * cfg["padding_kv"][i] - kq) // cfg["stride_kv"][i] + 1
        cls = 1 if cfg["cls_token"][i] else 0
        m, n = side * side + cls, kv * kv + cls
        convs = side * side * kq * kq * c + 2 * kv * kv * kq * kq * c
        linear = m * c * c + 2 * n * c * c + m * c * c  # q, k, v, output dense
        mlp = 2 * m * c * int(c * cfg["mlp_ratio"][i])
        total += depth * (convs + linear + 2 * m * n * c + mlp)
        cin = c
    return total


def levit_macs(cfg: dict[str, Any]) -> int:
    """LeViT (Graham et al. 2021, arXiv:2104.01136, sec. 4; modeling_levit.py): the stem
    (LevitPatchEmbeddings) is four Conv2d(kernel_size, stride, padding) to C/8, C/4, C/2, C;
    stage i runs depths[i] times LevitAttention (a linear layer to heads x (2 key_dim +
    attention_ratio key_dim), Q.K^T, P.V, a linear layer back to C) and, with mlp_ratio > 0,
    LevitMLPLayer (C -> C mlp_ratio -> C); between stages LevitAttentionSubsample (down_ops:
    keys and values of all r^2 tokens, queries of the ((r - 1) // stride + 1)^2 subsampled ones,
    projection to the next width) and an MLP of that width. LeViT-128 at 224: 406 M (their
    Table 3)."""
    k, s, pad = cfg["kernel_size"], cfg["stride"], cfg["padding"]
    side, cin, total = cfg["image_size"], cfg["num_channels"], 0
    c0 = cfg["hidden_sizes"][0]
    for cout in (c0 // 8, c0 // 4, c0 // 2, c0):
        side = (side + 2 * pad - k) // s + 1
        total += side * side * k * k * cin * cout
        cin = cout

    def attention(
        m: int, n: int, c_in: int, c_out: int, kd: int, h: int, ar: int, q_in: bool
    ) -> int:
        # q_in: queries from the same linear layer as keys and values (LevitAttention).
        qkv = m * c_in * h * (2 * kd + ar * kd) if q_in else n * c_in * h * (kd + ar * kd)
        qkv += 0 if q_in else m * c_in * h * kd
        return qkv + h * m * n * kd + h * m * n * ar * kd + m * h * ar * kd * c_out

    r = side
    for i, depth in enumerate(cfg["depths"]):
        c = cfg["hidden_sizes"][i]
        kd, h, ar = cfg["key_dim"][i], cfg["num_attention_heads"][i], cfg["attention_ratio"][i]
        mlp = 2 * r * r * c * c * cfg["mlp_ratio"][i]
        total += depth * (attention(r * r, r * r, c, c, kd, h, ar, True) + mlp)
        if i + 1 < len(cfg["depths"]):
            _, kd, h, ar, ratio, stride = cfg["down_ops"][i]
            nxt, q = cfg["hidden_sizes"][i + 1], (r - 1) // stride + 1
            total += attention(q * q, r * r, c, nxt, kd, h, ar, False)
            total += 2 * q * q * nxt * nxt * ratio
            r = q
    return total


def hiera_macs(cfg: dict[str, Any]) -> int:
    """Hiera (Ryali et al. 2023, arXiv:2306.00989, sec. 3; modeling_hiera.py), every token
    encoded (HieraModel: no masking; mask_ratio is HieraForPreTraining's): the patch embedding
    Conv2d(patch_size, patch_stride, patch_padding) to embed_dim; HieraEncoder's layer l pools
    its queries by prod(query_stride) when l is one of the first num_query_pool stage ends
    (cumulative depths); stage i is int(embed_dim * multiplier^i) wide with mask units of
    int(prod(masked_unit_size) * prod(query_stride)^-i) tokens, attending within them when
    masked_unit_attention[i] (or, on its first layer, the previous stage's). HieraLayer: with a
    new width a proj of the N input tokens; qkv of the N tokens; per window N / windows keys and
    N / stride / windows queries (HieraMaskUnitAttention); proj and the MLP on N / stride.
    Hiera-B at 224: 9.4 G (their Table 2)."""
    image, k = cfg["image_size"][0], cfg["patch_size"][0]
    side = (image + 2 * cfg["patch_padding"][0] - k) // cfg["patch_stride"][0] + 1
    n, c_in = side * side, cfg["embed_dim"]
    total = n * k * k * cfg["num_channels"] * c_in
    qs = cfg["query_stride"][0] * cfg["query_stride"][1]
    unit = cfg["masked_unit_size"][0] * cfg["masked_unit_size"][1]
    ends, depth_so_far = [], 0
    for d in cfg["depths"]:
        depth_so_far += d
        ends.append(depth_so_far)
    pool_at, layer = ends[: cfg["num_query_pool"]], 0
    for i, depth in enumerate(cfg["depths"]):
        c = int(cfg["embed_dim"] * cfg["embed_dim_multiplier"] ** i)
        window = int(unit * qs**-i)
        for j in range(depth):
            stride = qs if layer in pool_at else 1
            masked = cfg["masked_unit_attention"][i] or (
                j == 0 and cfg["masked_unit_attention"][max(i - 1, 0)]
            )
            windows = n // (stride * window) if masked else 1
            m = n // stride
            macs = n * c_in * c if c_in != c else 0  # HieraLayer.proj (the residual)
            macs += n * c_in * 3 * c  # qkv
            macs += 2 * windows * (m // windows) * (n // windows) * c  # QK^T, PV (all heads)
            macs += m * c * c + 2 * m * c * int(c * cfg["mlp_ratio"])
            total += macs
            n, c_in, layer = m, c, layer + 1
    return total


def _divisible8(value: float) -> int:
    """modeling_mobilevit.make_divisible(value, 8)."""
    out = max(8, int(value + 4) // 8 * 8)
    return out + 8 if out < 0.9 * value else out


def mobilevit_macs(cfg: dict[str, Any]) -> int:
    """MobileViT (Mehta and Rastegari 2022, arXiv:2110.02178, sec. 3; modeling_mobilevit.py):
    MobileViTModel's conv_stem (3x3 stride 2), MobileViTEncoder's layer_1 (one inverted
    residual), layer_2 (three, the first of stride 2), layer_3 .. layer_5 (MobileViTLayer: a
    stride-2 inverted residual, conv_kxk, conv_1x1 to hidden_sizes[i], 2 / 4 / 3 transformer
    layers over patch_area sequences of (side / patch)^2 patches, conv_projection back,
    fusion (a k x k conv of 2C to C)), then conv_1x1_exp. An inverted residual:
    expand_1x1 to make_divisible(round(C_in expand_ratio), 8), a 3x3 depthwise conv, reduce_1x1.
    MobileViT-S at 256: 2.0 G (their Table 1: 2.0 GFLOPs)."""
    neck, hidden, k2 = cfg["neck_hidden_sizes"], cfg["hidden_sizes"], cfg["conv_kernel_size"] ** 2
    side = (cfg["image_size"] - 1) // 2 + 1
    total = side * side * 9 * cfg["num_channels"] * neck[0]

    def inverted(side: int, cin: int, cout: int, stride: int) -> tuple[int, int]:
        e = _divisible8(round(cin * cfg["expand_ratio"]))
        out = (side - 1) // stride + 1
        return side * side * cin * e + out * out * 9 * e + out * out * e * cout, out

    for cin, cout, stride in ((neck[0], neck[1], 1), (neck[1], neck[2], 2), (neck[2], neck[2], 1),
                              (neck[2], neck[2], 1)):  # fmt: skip
        macs, side = inverted(side, cin, cout, stride)
        total += macs
    for i, layers in enumerate((2, 4, 3)):
        cin, c, d = neck[i + 2], neck[i + 3], hidden[i]
        macs, side = inverted(side, cin, c, 2)
        n, area = side * side, cfg["patch_size"] ** 2
        tokens = n // area  # per sequence; area sequences
        ff = int(d * cfg["mlp_ratio"])
        layer = area * (4 * tokens * d * d + 2 * tokens * tokens * d + 2 * tokens * d * ff)
        total += macs + n * k2 * c * c + n * c * d + layers * layer + n * d * c + n * k2 * 2 * c * c
    return total + side * side * neck[5] * neck[6]


def perceiver_macs(cfg: dict[str, Any], inputs: int) -> int:
    """The Perceiver IO encoder (Jaegle et al. 2021, arXiv:2107.14795, sec. 2; modeling_perceiver:
    PerceiverModel without preprocessor, so the inputs are ``inputs`` tokens of d_model
    channels). PerceiverEncoder.cross_attention: query Linear(d_latents, qk), key and value
    Linear(d_model, qk / v) of the inputs, qk = qk_channels or the inputs' d_model
    (cross_attention_shape_for_attention "kv") or d_latents ("q"), v = v_channels or qk;
    Q.K^T and P.V of the num_latents latents over the inputs; the output dense v -> d_latents;
    the MLP (d_latents x cross widening). Then num_blocks x num_self_attends_per_block layers:
    q, k, v of d_latents (or qk_channels / v_channels), latent self-attention, output v -> v,
    the MLP (self widening)."""
    n, dl, dm = cfg["num_latents"], cfg["d_latents"], cfg["d_model"]
    qk_cfg, v_cfg = cfg.get("qk_channels"), cfg.get("v_channels")
    qk = qk_cfg or (dm if cfg.get("cross_attention_shape_for_attention", "kv") == "kv" else dl)
    v = v_cfg or qk
    cross = n * dl * qk + inputs * dm * (qk + v) + n * inputs * (qk + v) + n * v * dl
    cross += 2 * n * dl * cfg["cross_attention_widening_factor"] * dl
    qk, v = qk_cfg or dl, v_cfg or (qk_cfg or dl)
    latent = n * dl * (2 * qk + v) + n * n * (qk + v) + n * v * v
    latent += 2 * n * dl * cfg["self_attention_widening_factor"] * dl
    return cross + cfg["num_blocks"] * cfg["num_self_attends_per_block"] * latent
