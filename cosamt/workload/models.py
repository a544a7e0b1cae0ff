"""Transformer model configurations: shipped ones and Hugging Face ``config.json`` files on disk.

A :class:`ModelConfig` holds only what shapes the operators of the model's blocks (see
:mod:`cosamt.workload.transformer` and ``docs/workloads.md``); embeddings and positional encodings
are not modelled, the LM head only on request.
Shipped configs live in ``cosamt/workload/models/<name>.json``, each with a ``source`` citation.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cosamt.errors import InputError, Problem, problems_from_pydantic
from cosamt.limits import Heads, Layers, SeqLen, Width
from cosamt.workload.addon_kinds import (
    Adapter,
    AttentionGate,
    ConvGroups,
    MobileBottleneck,
    WindowKind,
)
from cosamt.workload.conditioning import PrefixConditioning
from cosamt.workload.conformer import Conformer
from cosamt.workload.deformable import Deformable
from cosamt.workload.encdec_kinds import (
    ConditionalQueries,
    CrossShape,
    InformerShape,
    NgramStreams,
)
from cosamt.workload.feature_encoder import FeatureEncoder
from cosamt.workload.layer_kinds import (
    AltUp,
    BlockSparse,
    GlobalLocal,
    Indexer,
    Inkling,
    KimiDelta,
    LayerGroup,
    Lightning,
    LinearAttention,
    LongCat,
    Rglru,
    StateSpace,
    Zaya,
)
from cosamt.workload.mra import Mra
from cosamt.workload.neighbourhood import Neighbourhood
from cosamt.workload.pyramid import Pyramid
from cosamt.workload.reformer import Reformer
from cosamt.workload.rwkv import Rwkv
from cosamt.workload.transducer import Transducer
from cosamt.workload.vision_stages import VisionStages
from cosamt.workload.xlstm import MLstm

PositiveInt = Annotated[int, Field(gt=0, strict=True)]

# Plain activations, and gated ones (``*glu``: gate and up projections, act(gate) * up).
Activation = Literal[
    "gelu",
    "relu",
    "relu2",
    "prelu",
    "silu",
    "xielu",
    "swiglu",
    "geglu",
    "reglu",
    "relu2glu",
    "swiglu_clamped",
]
# swiglu_clamped: GPT-OSS's (up.clamp(-l, l) + 1) * gate.clamp(max=l) * sigmoid(alpha * gate).
GATED: dict[str, str] = {
    "swiglu": "silu",
    "geglu": "gelu",
    "reglu": "relu",
    "relu2glu": "relu2",
    "swiglu_clamped": "silu",
}
Norm = Literal["layernorm", "rmsnorm"]
NormPosition = Literal["post", "pre"]


class ModelConfig(BaseModel):
    """The shape of a Transformer: everything the per-block operators depend on."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: str
    """Model name, used in reports."""
    n_layers: Layers
    """Number of Transformer blocks (of the decoder, for an encoder-decoder model)."""
    d_model: Width
    """Hidden (residual stream) width."""
    n_heads: Heads
    """Number of query (attention) heads."""
    n_kv_heads: Heads | None = None
    """Number of key/value heads (grouped-query attention; 1 is multi-query); ``None`` means
    ``n_heads`` (MHA). Must divide ``n_heads``."""
    head_dim: Width | None = None
    """Per-head feature size; ``None`` means ``d_model // n_heads`` (then ``n_heads`` must divide
    ``d_model``)."""
    kv_lora_rank: Width | None = None
    """Multi-head latent attention (DeepSeek-V2/V3): K and V come from a ``kv_lora_rank``-wide
    latent (``kv_down``, ``kv_norm``, ``kv_up``); ``head_dim`` is then the QK head dim (non-rotary
    plus ``rotary_dim`` rotated features, the rotated key part shared by all heads), K and V are
    per query head (``n_kv_heads`` must be unset). ``None``: ordinary attention."""
    q_lora_rank: Width | None = None
    """MLA: queries from a ``q_lora_rank``-wide latent (``q_down``, ``q_norm``, ``q_up``);
    ``None``: one query projection."""
    v_head_dim: Width | None = None
    """Per-head value features when they differ from ``head_dim`` (MLA, MiMo-V2); ``None``:
    ``head_dim``."""
    d_ff: Width
    """Inner width of the feed-forward network (of each of the gate/up GEMMs when gated)."""
    activation: Activation = "gelu"
    """FFN activation: ``gelu`` / ``relu`` / ``relu2`` (squared ReLU) / ``prelu`` (``nn.PReLU``:
    DAB-DETR) / ``silu`` / ``xielu`` (Apertus; one up-projection) or a gated one,
    ``swiglu`` / ``geglu`` / ``reglu`` / ``relu2glu`` (BitNet) (gate and up projections,
    act(gate) * up), ``swiglu_clamped`` (GPT-OSS, OpenAI's privacy filter: gate and up clamped at
    the limit, (up + 1) * gate * sigmoid(alpha * gate))."""
    norm: Norm = "layernorm"
    """Normalisation: ``layernorm`` or ``rmsnorm``."""
    norm_position: NormPosition = "post"
    """``post``: norm after each residual add (BERT, the original Transformer); the normalised
    sum is the residual stream. ``pre``: norm before attention and FFN (GPT-2, Llama, ViT, T5);
    the residual sum itself is the stream, its own tensor."""
    parallel: bool = False
    """Attention and MLP read the same normalised input and one add sums both into the stream
    (GPT-J, Falcon, Phi-2, GPT-NeoX)."""
    parallel_norms: Literal[1, 2] = 1
    """With ``parallel``: one shared norm (GPT-J, Falcon-7B) or one per branch (GPT-NeoX)."""
    rotary_dim: PositiveInt | None = None
    """Rotated features per head of Q and K (rotary position embeddings); ``None``: no rotary."""
    sliding_window: PositiveInt | None = None
    """Keys per query are capped at this many (sliding-window attention): a causal window's
    width, or the keys on both sides of a bidirectional encoder window (T5Gemma's ``2w + 1``)."""
    block_sparse: BlockSparse | None = None
    """BigBird's block-sparse self-attention (prefill; decode attends to the whole cache);
    ``None``: dense (or windowed) attention."""
    global_local: GlobalLocal | None = None
    """Pegasus-X's encoder: global tokens and block-local attention on padded blocks
    (:mod:`cosamt.workload.global_local`; an encoder stack only); ``None``: none."""
    transient_global_block: PositiveInt | None = None
    """LongT5's transient-global attention (prefill, encoder): one side key per this many tokens
    (``global_block_size``), aggregated from the layer's input, beside the window's keys
    (:mod:`cosamt.workload.transient_global`); ``None``: none."""
    sliding_layers: PositiveInt | None = None
    """How many of the layers use the window (the others attend globally); ``None``: all."""
    sliding_moe_layers: PositiveInt | None = None
    """Layers both windowed and MoE, when some layers are windowed (``sliding_layers``) and some
    MoE (``moe_layers``): up to four block types (local/global x MoE/dense)."""
    n_experts: PositiveInt | None = None
    """Mixture of experts: routed experts per MoE layer; ``None``: a dense FFN."""
    experts_per_token: PositiveInt | None = None
    """Mixture of experts: experts each token is routed to (top-k)."""
    expert_d_ff: PositiveInt | None = None
    """Mixture of experts: inner width of one expert (``None``: ``d_ff``)."""
    shared_d_ff: Annotated[int, Field(ge=0, strict=True)] = 0
    """Mixture of experts: total inner width of the shared experts every token goes through."""
    moe_layers: PositiveInt | None = None
    """Mixture of experts: how many layers are MoE (the others dense FFNs of ``d_ff``); ``None``:
    all."""
    cross_attention: bool = False
    """Every decoder block has cross-attention against an encoder's output."""
    merged_cross_attention: bool = False
    """Encoder-decoder model whose decoder merges self- and cross-attention (T5Gemma 2's
    ``T5Gemma2MergedAttention``): one query and one output projection, K and V of the decoder's
    and of the encoder's tokens by the same ``k_proj`` / ``v_proj``, one softmax over both key
    sets; no separate cross-attention sublayer."""
    encoder_layers: PositiveInt | None = None
    """Encoder-decoder model: blocks of the encoder (the decoder's widths unless ``encoder``
    gives its own shape); ``n_layers`` is the decoder's."""
    encoder_tokens: PositiveInt | None = None
    """Encoder-decoder model with a fixed encoder length (Whisper: 1500 audio frames); ``None``: the
    instance's ``seq_len``."""
    encoder: ModelConfig | None = None
    """Encoder-decoder model whose encoder has its own shape (a composite config's encoder
    sub-config: heads, FFN, activation, norm may differ; the hidden size must be the decoder's,
    which its cross-attention reads): the encoder blocks are built from it, ``encoder_layers``
    must equal its ``n_layers``. ``None``: the encoder has the decoder's widths."""
    encoder_proj: bool = False
    """Encoder-decoder model whose decoder projects the encoder's output to its own width
    (Cohere ASR's ``CohereAsrDecoder.proj``) on every decoder forward, decode steps included: the
    encoder (``encoder``) may then be wider or narrower than ``d_model``."""
    transducer: Transducer | None = None
    """A token-and-duration transducer (Parakeet TDT, :mod:`cosamt.workload.transducer`): the
    decoder is an LSTM prediction network (``n_layers`` layers of ``d_model``) and a joint
    network, not Transformer blocks (``n_heads``, ``d_ff`` unused); the encoder (``encoder``, a
    conformer) is projected to ``d_model``."""
    decoder_tokens: PositiveInt | None = None
    """Encoder-decoder model whose decoder runs a fixed set of queries (DETR's object queries,
    bidirectional, no decode phase); ``None``: the decoder runs the instance's tokens."""
    conditional_queries: ConditionalQueries | None = None
    """With ``decoder_tokens``: Conditional DETR's or DAB-DETR's decoder (and DAB-DETR's encoder
    position scaling), :mod:`cosamt.workload.encdec_ops`; ``None``: DETR's plain attention."""
    informer: InformerShape | None = None
    """Informer's ProbSparse self-attention and distilling encoder (with ``decoder_tokens``: the
    prediction window), :mod:`cosamt.workload.encdec_ops`; ``None``: neither."""
    ngram_streams: NgramStreams | None = None
    """ProphetNet's decoder: the main stream and ``ngram`` predicting streams
    (:mod:`cosamt.workload.encdec_ops`); ``None``: one stream."""
    layer_windows: tuple[PositiveInt, ...] | None = None
    """A bidirectional encoder whose every layer has its own window (Moonshine Streaming's
    ``sliding_windows``): keys per query of each layer (capped at the tokens); ``None``: no
    per-layer windows."""
    cross_shape: CrossShape | None = None
    """Encoder-decoder model whose cross-attention has widths of its own (Dia: K/V from the
    encoder's ``kv_width``, its own heads and head dim); ``None``: the decoder's."""
    image_tokens: PositiveInt | None = None
    """Vision transformer: tokens per image (patches + class/distillation tokens), fixed by the
    image and patch size; the instance's ``seq_len`` must equal it."""
    stage_depths: tuple[PositiveInt, ...] | None = None
    """Hierarchical vision transformer (Swin): blocks per stage. From one stage to the next, patch
    merging halves the token grid per side and doubles the width; ``d_model``, ``n_heads`` and
    ``d_ff`` are stage 1's, ``image_tokens`` stage 1's (square) grid; ``n_layers`` their sum."""
    stage_heads: tuple[PositiveInt, ...] | None = None
    """Hierarchical vision transformer: attention heads of every stage."""
    window_size: PositiveInt | None = None
    """Hierarchical vision transformer: attention within ``window_size`` x ``window_size``
    windows of the token grid (the whole grid once it is no larger)."""
    swin_v2: bool = False
    """Swin V2's blocks on the hierarchical stages (``stage_depths``): scaled cosine attention,
    the continuous position-bias MLP, residual post-norm, patch merging reduced then normed
    (:mod:`cosamt.workload.swin_v2`)."""
    pyramid: Pyramid | None = None
    """Pyramid vision transformer (PVT v2, SegFormer): its stages of spatial-reduction attention
    and Mix-FFN; ``d_model``, ``n_heads``, ``d_ff`` are stage 1's, ``image_tokens`` stage 1's
    grid, ``n_layers`` the blocks of all stages."""
    mlstm: MLstm | None = None
    """xLSTM's mLSTM mixer (:mod:`cosamt.workload.xlstm`) in place of attention on every layer
    of a causal stack (a pre-norm block with its FFN); ``None``: attention."""
    reformer: Reformer | None = None
    """Reformer's local and LSH attention layers (:mod:`cosamt.workload.reformer`; an encoder
    stack); ``None``: none."""
    mra: Mra | None = None
    """MRA's multi-resolution attention (:mod:`cosamt.workload.mra`) in place of dense
    attention on every layer of an encoder; ``None``: none."""
    vision_stages: VisionStages | None = None
    """A convolutional vision transformer's stages (CvT: :mod:`cosamt.workload.vision_stages`);
    ``d_model``, ``n_heads``, ``d_ff`` are stage 1's, ``image_tokens`` stage 1's tokens,
    ``n_layers`` the blocks of all stages."""
    neighbourhood: Neighbourhood | None = None
    """Dilated neighbourhood attention transformer (DiNAT): its stages; ``d_model``, ``n_heads``,
    ``d_ff`` are stage 1's, ``image_tokens`` stage 1's square grid, ``n_layers`` all layers."""
    vocab_size: PositiveInt | None = None
    """Vocabulary size, for the optional LM head (vocabulary projection)."""
    decoder: bool = True
    """Causal decoder (GPT, Llama): the decode phase is allowed only if true."""
    default_seq_len: SeqLen | None = None
    """Sequence length used when an instance gives none (e.g. ViT's fixed token count)."""
    assumptions: tuple[str, ...] = ()
    """What was assumed in reading the config (e.g. a family default), listed in reports."""
    source: str = ""
    """Where the numbers come from: paper, Hugging Face model card or config file."""
    indexer: Indexer | None = None
    """DeepSeek sparse attention (needs MLA with ``q_lora_rank``): the indexer scores every key,
    attention reads ``indexer.topk`` keys per query; ``None``: dense attention."""
    linear_attention: LinearAttention | None = None
    """Gated DeltaNet on ``linear_attention.layers`` of the layers (the rest full attention);
    ``None``: attention on every layer."""
    ssm: StateSpace | None = None
    """Mamba layers: every layer is a norm, the Mamba mixer and a residual add (no attention, no
    FFN); ``None``: Transformer blocks."""
    attention_output_gate: bool = False
    """The attention output is multiplied by sigmoid of a gate the query projection also yields
    (Qwen3-Next, Qwen3.5: ``q_proj`` twice as wide)."""
    layer_groups: tuple[LayerGroup, ...] | None = None
    """A stack whose layers differ in mixer (attention, Mamba, both, a short convolution), FFN
    (dense, MoE, none), window or head shape: groups of identical layers, their counts summing to
    ``n_layers``, each one block type (pre-norm only); ``None``: the layers follow the other
    fields."""
    short_conv_kernel: PositiveInt | None = None
    """LFM2's short-convolution layers (``layer_groups`` with mixer ``conv``): taps of the
    depthwise causal convolution (``conv_L_cache``)."""
    kda: KimiDelta | None = None
    """Kimi Delta Attention layers (``layer_groups`` with mixer ``kda``): their shape."""
    lightning: Lightning | None = None
    """Lightning attention layers (``layer_groups`` with mixer ``lightning``): their shape."""
    inkling: Inkling | None = None
    """Inkling's layers (``layer_groups`` of attention, no rotary): relative logits, short
    convolutions, router-scored shared experts."""
    conformer: Conformer | None = None
    """A conformer speech encoder (Parakeet's FastConformer): every block FFN/2, relative-position
    attention, a convolution module, FFN/2, a norm, after a convolutional subsampling front-end
    (:mod:`cosamt.workload.conformer_ops`); a bidirectional encoder of plain dense blocks only.
    ``None``: Transformer blocks."""
    feature_encoder: FeatureEncoder | None = None
    """A wav2vec2-style encoder's convolutional front-end (``Wav2Vec2Model``: the feature
    encoder on the waveform, the feature projection, the position convolution;
    :mod:`cosamt.workload.feature_encoder_ops`), one block before a bidirectional encoder's
    dense post-norm blocks. ``None``: none."""
    prefix_conditioning: PrefixConditioning | None = None
    """An encoder-decoder model whose encoder's output (and a melody's chroma) is prepended to
    the decoder's tokens instead of cross-attended (MusicGen Melody,
    :mod:`cosamt.workload.prefix`); needs ``encoder``, no cross-attention."""
    relative_position_bias: bool = False
    """SpeechT5's encoder attention (``SpeechT5RelativePositionalEncoding``): each layer adds
    the queries times a T x T x ``head_dim`` table of relative position embeddings to the
    scores (:mod:`cosamt.workload.relative_bias`); a bidirectional stack only."""
    per_layer_input: PositiveInt | None = None
    """Per-layer inputs (Gemma 4's ``hidden_size_per_layer_input``, needs ``layer_groups`` and a
    gated activation): once per token a projection of the input to ``n_layers`` x this width,
    normed and combined with the per-layer embeddings; each layer then ends with a gate
    projection to this width, act(gate) times its per-layer input, a projection back, an
    RMSNorm and a residual add (:mod:`cosamt.workload.per_layer`)."""
    altup: AltUp | None = None
    """Gemma 3n's AltUp stream copies and LAuReL residuals (needs ``layer_groups``); ``None``:
    the layers' plain pre-norm sublayers."""
    assistant_target_width: Width | None = None
    """A drafting assistant (``gemma4_unified_assistant``) of a target model of this hidden size:
    every layer reads the K and V its target computed (every attention group ``kv_shared``);
    its input, the target's hidden state beside the token's embedding (2 x this width), is
    projected to ``d_model`` (``pre_projection``) and its output back (``post_projection``)."""
    window_kind: WindowKind = "sliding"
    """What ``sliding_window`` caps: ``sliding`` (a causal band of that many keys),
    ``bidirectional`` (a band around the query: ``sliding_window`` is its width, 2w + 1), or
    ``chunked`` (block-diagonal causal attention in chunks of ``sliding_window`` tokens: keys per
    query capped at the chunk)."""
    attention_gate: AttentionGate | None = None
    """The attention output times a sigmoid gate from its own projection of the layer input
    (``attn_gate_proj``): ``element`` (one gate per output feature: AFMoE's ``gate_proj``) or
    ``head`` (one per head: LFM3's ``g_proj``); ``None``: none."""
    sub_norms: bool = False
    """BitNet: an RMSNorm on the attention output before ``out_proj`` (``attn_sub_norm``) and
    on the FFN's gated product before ``ffn2`` (``ffn_sub_norm``)."""
    sandwich_norm: bool = False
    """Each sublayer's output normed before its residual add (LFM3's ``post_operator_norm`` /
    ``post_ffn_norm``, AFMoE's ``post_attention_layernorm`` / ``post_mlp_layernorm``);
    ``layer_groups`` only."""
    adapter: Adapter | None = None
    """X-MOD: a bottleneck adapter after every FFN's residual add; ``None``: none."""
    mobile: MobileBottleneck | None = None
    """MobileBERT's bottlenecked block (``n_heads`` x ``head_dim`` = its ``inner`` width);
    ``None``: the plain block."""
    attention_experts: bool = False
    """JetMoE's mixture of attention heads: the query and output projections are routed
    experts (the MoE fields' experts and top-k), each projecting ``n_kv_heads`` x ``head_dim``
    features, so ``n_heads`` = top-k x ``n_kv_heads``; K and V dense."""
    dynamic_mask_keys: PositiveInt | None = None
    """Doge's dynamic mask attention (``keep_window_size``): a per-key score from the values
    (``dt_proj``) is added to every score, and attention keeps the top this many keys per query
    (``None``: none)."""
    conv_groups: ConvGroups | None = None
    """SqueezeBERT: every projection a grouped 1x1 convolution (block-diagonal GEMMs);
    ``None``: dense projections."""
    hyper_connections: Annotated[int, Field(ge=2, strict=True)] | None = None
    """HY-V4's hyper-connections (``hc_mult`` residual streams, ``HYV4HyperConnection``):
    before each sublayer a mix of the streams (an unweighted RMSNorm and a GEMM of all of them to
    2 x streams gates, their weighted sum as the sublayer's input), after it the output spread
    back onto every stream; ``HYV4HyperHead`` collapses them after the layers
    (:mod:`cosamt.workload.odds`; needs ``layer_groups``); ``None``: one residual stream."""
    time_ada_norm: PositiveInt | None = None
    """Voxtral Realtime's time-conditioned AdaRMSNorm (``VoxtralRealtimeTextAdaRmsNorm``): the FFN
    input, after ``norm2``, times 1 + MLP(t), the MLP hidden -> this width -> hidden with GELU,
    run once per forward on the one time embedding (:mod:`cosamt.workload.odds`); ``None``: none."""
    deformable: Deformable | None = None
    """Multi-scale deformable attention (:mod:`cosamt.workload.deformable`): on an encoder's own
    shape (``encoder``) its self-attention, on a detection transformer (``decoder_tokens``) its
    decoder's cross-attention against ``value_tokens`` x ``seq_len`` feature-level tokens;
    ``None``: dense attention."""
    text_encoder: ModelConfig | None = None
    """A detector's text tower (Grounding DINO's ``text_config``, a BERT): a plain encoder run
    once over ``deformable.text_tokens`` tokens, before the encoder's layers (``enc.text.``);
    ``None``: none modelled."""
    cross_tokens: PositiveInt | None = None
    """Tokens the ``cross`` layer groups attend to (Mllama's vision tokens: the projected output
    of its vision tower, computed once in prefill, their K/V cached in decode); ``None``: no
    such groups."""
    span_kernel: PositiveInt | None = None
    """ConvBERT's mixed attention (:mod:`cosamt.workload.convbert`): beside the ``n_heads``
    attention heads of ``head_dim``, as many span-based dynamic convolution heads of this many
    taps (``conv_kernel_size``), their outputs concatenated (2 x ``n_heads`` x ``head_dim``
    features) into the output projection; a bidirectional encoder of plain dense blocks only.
    ``None``: plain attention."""
    yoso_hash_bits: PositiveInt | None = None
    """YOSO by expectation (:mod:`cosamt.workload.yoso`): the collision probability of this
    many hash bits, (1 - acos(q.k) / pi)^bits, in place of softmax over unit queries and keys,
    the output unit-normalised; a bidirectional encoder of multi-head attention only. ``None``:
    softmax."""
    value_conv: PositiveInt | None = None
    """Nystromformer: a depthwise convolution of this many taps along the sequence over each
    head's values (one filter per head), added to the attention output before ``out_proj``
    (:mod:`cosamt.workload.value_conv`); multi-head attention of a bidirectional encoder only.
    ``None``: none."""
    relative_attention: bool = False
    """XLNet's relative positional attention on the content stream (:mod:`cosamt.workload.xlnet`):
    position keys of the klen + qlen relative positions, a second score per query and position,
    added to QK^T before softmax; multi-head attention of a bidirectional encoder stack only."""
    shared_adapter_rank: PositiveInt | None = None
    """Zamba2: each hybrid layer's own adapter on the shared MLP's gate and up projection
    (hidden -> this rank -> 2 x ``d_ff``, added before the activation:
    :mod:`cosamt.workload.zamba`); ``None``: none (Zamba)."""
    rglru: Rglru | None = None
    """Griffin's recurrent blocks on the ``layer_groups`` of mixer ``rglru`` (Recurrent Gemma:
    :mod:`cosamt.workload.rglru`); ``None``: no such groups."""
    rwkv: Rwkv | None = None
    """RWKV-4 blocks (:mod:`cosamt.workload.rwkv_ops`): time mixing (the WKV recurrence) and
    channel mixing in place of attention and FFN (``d_ff``: the channel mix's key width;
    ``n_heads`` and the head shape unused); a causal stack of those blocks only. ``None``:
    Transformer blocks."""
    fourier_mixing: bool = False
    """FNet: the real part of a 2D discrete Fourier transform over the hidden and sequence axes
    in place of self-attention (:mod:`cosamt.workload.fourier`; ``n_heads`` and the head shape
    unused); a bidirectional encoder of plain dense blocks only."""
    prompt_tokens: Annotated[int, Field(ge=0, strict=True)] = 0
    """Tokens the model prepends to every input (CPM-Ant's ``prompt_length``): the blocks run on
    ``seq_len`` + these (prefill), the KV cache holds them too (decode)."""
    gated_norm_rank: PositiveInt | None = None
    """A.X-K2's gated RMSNorm (``AXK2GatedRMSNorm``) as each layer's input norm and the
    post-attention norm of its MoE layers: ``y * sigmoid(fc2(silu(fc1(y))))``, fc1 to this
    rank; ``None``: plain norms."""
    longcat: LongCat | None = None
    """LongCat-Flash's layers (each two MLA sublayers, two dense MLPs of ``d_ff`` and the
    shortcut MoE, ``n_layers`` of them); ``None``: plain blocks."""
    zaya: Zaya | None = None
    """ZAYA's layers (compressed convolutional attention, the MLP router, scaled residuals);
    ``None``: plain blocks."""
    latent_query_gate: bool = False
    """A.X-K2's MLA: ``q_gate_proj`` maps the query latent, normed and raw side by side (2 x
    ``q_lora_rank``), to every head's query and a sigmoid gate per value feature on the
    attention output (no ``q_up``)."""

    @model_validator(mode="after")
    def _check_heads(self) -> ModelConfig:
        if self.n_kv_heads is not None and self.n_heads % self.n_kv_heads != 0:
            raise ValueError(f"n_kv_heads ({self.n_kv_heads}) must divide n_heads ({self.n_heads})")
        if self.head_dim is None and self.d_model % self.n_heads != 0:
            raise ValueError(
                f"n_heads ({self.n_heads}) must divide d_model ({self.d_model}) "
                "unless head_dim is given"
            )
        if self.rotary_dim is not None and self.rotary_dim > self.dh:
            raise ValueError(f"rotary_dim ({self.rotary_dim}) exceeds the head dim ({self.dh})")
        self._check_stages()
        self._check_pyramid()
        self._check_neighbourhood()
        self._check_vision_stages()
        if self.mra is not None and (
            self.decoder
            or self.sliding_window
            or self.block_sparse
            or self.layer_groups
            or self.encoder_layers
        ):
            raise ValueError("mra: an encoder-only stack of plain attention layers")
        if self.reformer is not None and (
            self.decoder or len(self.reformer.layers) != self.n_layers or self.mra is not None
        ):
            raise ValueError("reformer: an encoder with one attn_layers entry per layer")
        plain = (self.layer_groups, self.ssm, self.linear_attention, self.encoder_layers, self.mra)
        if self.mlstm is not None and (
            not self.decoder or self.norm_position != "pre" or any(v is not None for v in plain)
        ):
            raise ValueError("mlstm: a causal pre-norm stack of mLSTM layers only")
        if self.kv_lora_rank is None and self.q_lora_rank is not None:
            raise ValueError("q_lora_rank needs kv_lora_rank (multi-head latent attention)")
        if self.kv_lora_rank is not None and (
            self.rotary_dim is None or self.n_kv_heads is not None
        ):
            raise ValueError(
                "MLA (kv_lora_rank) needs rotary_dim (the rotated QK features) and no n_kv_heads"
            )
        if (self.n_experts is None) != (self.experts_per_token is None):
            raise ValueError("n_experts and experts_per_token go together")
        if (self.n_experts or 0) < (self.experts_per_token or 0):
            raise ValueError("experts_per_token exceeds n_experts")
        for field, value in (
            ("sliding_layers", self.sliding_layers),
            ("moe_layers", self.moe_layers),
        ):
            if value is not None and value > self.n_layers:
                raise ValueError(f"{field} ({value}) exceeds n_layers ({self.n_layers})")
        self._check_joint_split()
        if self.parallel and (self.cross_attention or self.encoder_layers):
            raise ValueError("parallel blocks with cross-attention are not modelled")
        if self.block_sparse is not None and (
            self.sliding_window or self.layer_groups or self.ssm or self.linear_attention
        ):
            raise ValueError("block_sparse with windows, layer groups or recurrent layers")
        if self.merged_cross_attention and self.encoder_layers is None:
            raise ValueError("merged_cross_attention needs an encoder-decoder model")
        if self.decoder_tokens is not None and (self.encoder_layers is None or self.decoder):
            raise ValueError("decoder_tokens needs an encoder-decoder model with decoder false")
        if self.kv_lora_rank is not None and (self.cross_attention or self.encoder_layers):
            raise ValueError("MLA with cross-attention is not modelled")
        if self.conditional_queries is not None and self.decoder_tokens is None:
            raise ValueError("conditional_queries needs decoder_tokens (a DETR decoder)")
        if self.informer is not None and (
            self.decoder_tokens is None or self.encoder is not None or self.gated or self.moe
        ):
            raise ValueError("informer: a flat encoder-decoder with decoder_tokens, plain FFNs")
        if self.ngram_streams is not None and (
            self.encoder_layers is None or self.mla or self.gated or self.moe or self.parallel
        ):
            raise ValueError("ngram_streams: an encoder-decoder of plain dense blocks only")
        windows = self.layer_windows
        if windows is not None and (
            len(windows) != self.n_layers or self.decoder or self.sliding_window is not None
        ):
            raise ValueError("layer_windows: one per layer of an encoder without sliding_window")
        cross = self.cross_shape
        if cross is not None and (self.encoder is None or cross.n_heads % cross.n_kv_heads):
            raise ValueError("cross_shape needs an encoder; its KV heads must divide its heads")
        self._check_layer_kinds()
        self._check_addons()
        self._check_conformer()
        self._check_deformable()
        self._check_feature_encoder()
        self._check_fourier()
        self._check_rwkv()
        if self.relative_attention and (
            self.decoder
            or self.n_kv_heads not in (None, self.n_heads)
            or self.mla
            or self.rotary_dim is not None
            or self.span_kernel is not None
            or self.fourier_mixing
            or self.yoso_hash_bits is not None
            or self.layer_groups is not None
            or self.encoder_layers is not None
            or self.sliding_window is not None
        ):
            raise ValueError(
                "relative_attention: multi-head attention of a bidirectional encoder stack only"
            )
        if self.yoso_hash_bits is not None and (
            not self._plain_encoder_attention or self.attention_gate is not None
        ):
            raise ValueError(
                "yoso_hash_bits: multi-head attention of a bidirectional encoder only (no MLA, "
                "layer groups, encoder-decoder or other mixer)"
            )
        if self.value_conv is not None and not self._plain_encoder_attention:
            raise ValueError(
                "value_conv: multi-head attention of a bidirectional encoder only (no MLA, "
                "layer groups, encoder-decoder or other mixer)"
            )
        if self.span_kernel is not None and (
            self.decoder
            or self.moe
            or self.mla
            or self.parallel
            or self.rotary_dim is not None
            or self.gated
            or self.fourier_mixing
            or self.encoder_layers is not None
            or self.sliding_window is not None
            or self.layer_groups is not None
            or self.mobile is not None
            or self.conv_groups is not None
            or self.adapter is not None
            or self.attention_gate is not None
        ):
            raise ValueError(
                "span_kernel: a bidirectional encoder of dense blocks with a plain FFN only"
            )
        return self

    def _check_rwkv(self) -> None:
        if self.rwkv is None:
            return
        others: tuple[object, ...] = (self.layer_groups, self.ssm, self.linear_attention)
        others += (self.sliding_window, self.encoder_layers, self.image_tokens, self.conformer)
        others += (self.indexer, self.mobile, self.conv_groups, self.adapter, self.attention_gate)
        plain = self.decoder and not (self.moe or self.mla or self.parallel or self.rotary_dim)
        if not plain or self.fourier_mixing or any(v is not None for v in others):
            raise ValueError(
                "rwkv: a causal stack of RWKV blocks only (no MoE, MLA, rotary, window, layer "
                "groups or other block structure)"
            )

    def _check_fourier(self) -> None:
        if not self.fourier_mixing:
            return
        others: tuple[object, ...] = (self.layer_groups, self.ssm, self.linear_attention)
        others += (self.sliding_window, self.encoder_layers, self.image_tokens, self.conformer)
        others += (self.stage_depths, self.pyramid, self.neighbourhood, self.mobile)
        others += (self.conv_groups, self.adapter, self.attention_gate, self.block_sparse)
        plain = not (self.decoder or self.moe or self.mla or self.parallel or self.rotary_dim)
        if not plain or self.gated or any(v is not None for v in others):
            raise ValueError(
                "fourier_mixing: a bidirectional encoder of dense blocks with a plain FFN only "
                "(no MoE, MLA, rotary, window, layer groups or other block structure)"
            )

    def _check_addons(self) -> None:
        axk2 = self.gated_norm_rank is not None or self.latent_query_gate
        if axk2 and (
            self.layer_groups is not None
            or self.norm_position != "pre"
            or self.parallel
            or self.sandwich_norm
            or self.attention_gate is not None
            or self.attention_output_gate
            or self.encoder_layers is not None
        ):
            raise ValueError(
                "gated_norm_rank / latent_query_gate: pre-norm decoder blocks without layer "
                "groups, parallel blocks, sandwich norms or another output gate"
            )
        if self.longcat is not None and (
            axk2
            or self.zaya is not None
            or self.layer_groups is not None
            or not self.moe
            or self.moe_layers is not None
            or self.shared_d_ff
            or self.parallel
            or self.norm_position != "pre"
            or self.encoder_layers is not None
            or self.sliding_window is not None
        ):
            raise ValueError(
                "longcat: pre-norm decoder layers with experts (every layer, no shared experts), "
                "no layer groups, windows or parallel blocks"
            )
        if self.zaya is not None and (
            axk2
            or self.layer_groups is not None
            or self.mla
            or self.parallel
            or self.norm_position != "pre"
            or self.encoder_layers is not None
            or self.attention_gate is not None
            or self.attention_output_gate
            or (self.moe and self.shared_d_ff)
        ):
            raise ValueError(
                "zaya: pre-norm decoder blocks without layer groups, MLA, parallel blocks, "
                "another output gate or shared experts"
            )
        if self.latent_query_gate and (self.q_lora_rank is None or self.kv_lora_rank is None):
            raise ValueError("latent_query_gate needs MLA with q_lora_rank")
        if self.window_kind != "sliding" and self.sliding_window is None:
            raise ValueError(f"window_kind {self.window_kind!r} needs sliding_window")
        if self.attention_gate is not None and self.attention_output_gate:
            raise ValueError("attention_gate and attention_output_gate: one output gate only")
        if self.sub_norms and (self.moe or self.parallel):
            raise ValueError("sub_norms with MoE or parallel blocks is not modelled")
        if self.sandwich_norm and (
            self.layer_groups is None or any(g.mixer == "parallel" for g in self.layer_groups)
        ):
            raise ValueError("sandwich_norm needs layer_groups (without a parallel mixer)")
        if self.hyper_connections is not None and (
            self.layer_groups is None
            or self.sandwich_norm
            or self.per_layer_input is not None
            or self.altup is not None
            or any(g.mixer != "attention" or g.ffn is None for g in self.layer_groups)
        ):
            raise ValueError(
                "hyper_connections need layer_groups of attention and an FFN (no sandwich norms, "
                "per-layer inputs or AltUp)"
            )
        if self.time_ada_norm is not None and (
            self.layer_groups is not None or self.parallel or self.norm_position != "pre"
        ):
            raise ValueError("time_ada_norm needs plain pre-norm blocks (no groups, not parallel)")
        if self.adapter is not None and (self.layer_groups is not None or self.parallel):
            raise ValueError("an adapter with layer_groups or parallel blocks is not modelled")
        mobile = self.mobile
        if mobile is not None and (
            self.n_heads * self.dh != mobile.inner
            or self.gated
            or self.moe
            or self.parallel
            or self.sliding_window is not None
            or self.layer_groups is not None
            or self.encoder_layers is not None
            or self.adapter is not None
            or self.norm_position != "post"
        ):
            raise ValueError(
                "mobile: a post-norm encoder block with a plain dense FFN, heads x head_dim equal "
                "to its inner width (no gate, MoE, window, groups, encoder-decoder or adapter)"
            )
        self._check_conv_groups()
        if self.dynamic_mask_keys is not None and (self.mla or self.indexer is not None):
            raise ValueError("dynamic_mask_keys with MLA or indexed attention is not modelled")
        if self.attention_experts and (
            not self.moe
            or self.n_heads != (self.experts_per_token or 0) * self.kv_heads
            or self.mla
            or self.layer_groups is not None
            or self.encoder_decoder
            or self.parallel
        ):
            raise ValueError(
                "attention_experts: needs the MoE fields and n_heads = experts_per_token x "
                "n_kv_heads (no MLA, layer groups, encoder-decoder or parallel blocks)"
            )
        stacks = (self.encoder_layers, self.image_tokens, self.decoder_tokens, self.stage_depths)
        if self.prompt_tokens and any(v is not None for v in stacks):
            raise ValueError("prompt_tokens in a decoder-only or encoder-only text model only")

    def _check_conv_groups(self) -> None:
        cg = self.conv_groups
        if cg is None:
            return
        if self.mobile is not None or self.adapter is not None or self.layer_groups is not None:
            raise ValueError("conv_groups with another block structure is not modelled")
        if self.gated or self.moe or self.parallel or self.norm_position != "post":
            raise ValueError("conv_groups: a post-norm block with a plain dense FFN only")
        if self.encoder_layers is not None or self.sliding_window is not None or self.mla:
            raise ValueError("conv_groups: an encoder-only stack without window or MLA only")
        width, qk, v = self.d_model, self.n_heads * self.dh, self.kv_heads * self.vdh
        convs = {
            "q": (cg.q, width, qk),
            "k": (cg.k, width, qk),
            "v": (cg.v, width, v),
            "post": (cg.post, v, width),
            "intermediate": (cg.intermediate, width, self.d_ff),
            "output": (cg.output, self.d_ff, width),
        }
        for name, (groups, cin, cout) in convs.items():
            if cin % groups or cout % groups:
                raise ValueError(
                    f"conv_groups.{name}: {groups} groups do not divide {cin} -> {cout}"
                )

    def _check_feature_encoder(self) -> None:
        if self.relative_position_bias and (self.decoder or self.mla or self.layer_groups):
            raise ValueError("relative_position_bias: a bidirectional encoder without MLA only")
        if self.feature_encoder is None:
            return
        plain = not (self.decoder or self.moe or self.mla or self.parallel or self.gated)
        plain = plain and self.norm_position == "post" and self.conformer is None
        if not plain or self.layer_groups is not None or self.encoder_layers is not None:
            raise ValueError(
                "feature_encoder: a bidirectional post-norm encoder of dense blocks with a plain "
                "FFN only"
            )
        if self.d_model % self.feature_encoder.pos_groups:
            raise ValueError(
                "feature_encoder: the position convolution's groups must divide d_model"
            )

    def _check_conformer(self) -> None:
        if self.conformer is None:
            return
        plain = not (self.decoder or self.moe or self.mla or self.parallel or self.rotary_dim)
        others: tuple[object, ...] = (self.layer_groups, self.ssm, self.linear_attention)
        others += (self.sliding_window, self.encoder_layers, self.image_tokens)
        others += (self.stage_depths, self.pyramid)
        if not plain or self.gated or any(v is not None for v in others):
            raise ValueError(
                "conformer: a bidirectional encoder of dense blocks with a plain FFN only (no "
                "MoE, MLA, rotary, window, layer groups, recurrent layers, stages, encoder)"
            )

    def _check_deformable(self) -> None:
        spec = self.deformable
        if spec is None:
            if self.text_encoder is not None:
                raise ValueError("text_encoder needs a deformable detection transformer")
            return
        decoder = self.decoder_tokens is not None  # a detector's decoder, else an encoder stack
        if self.decoder or (self.encoder_layers is not None) != decoder:
            raise ValueError(
                "deformable: a detection transformer's decoder (decoder_tokens) or an encoder stack"
            )
        if not decoder and (spec.gateway or spec.value_tokens != 1):
            raise ValueError("deformable: gateway and value_tokens are a decoder's")
        text = self.text_encoder
        enc = self.encoder.deformable if self.encoder is not None else None
        if text is not None and (
            enc is None or enc.text_width != text.d_model or text.decoder or text.encoder_layers
        ):
            raise ValueError(
                "text_encoder: a plain encoder whose width is the encoder's deformable.text_width"
            )
        plain = not (self.moe or self.mla or self.parallel or self.rotary_dim or self.layer_groups)
        if not plain or self.norm_position != "post" or self.head_dim is not None:
            raise ValueError("deformable: post-norm dense blocks of d_model / n_heads heads only")

    def _check_groups(self) -> None:
        groups = self.layer_groups
        assert groups is not None
        if sum(g.count for g in groups) != self.n_layers:
            raise ValueError("layer_groups: the counts must sum to n_layers")
        if len({g.shape for g in groups}) < len(groups):
            raise ValueError("layer_groups: two groups of the same structure (merge them)")
        if any(g.mixer is None and g.ffn is None for g in groups):
            raise ValueError("layer_groups: every layer needs a mixer or an FFN")
        if any(g.has_mamba for g in groups) != (self.ssm is not None) or (
            self.ssm is not None and self.ssm.layers is not None
        ):
            raise ValueError(
                "layer_groups: ssm (without layers) is needed exactly when a group has Mamba"
            )
        if any(g.ffn == "moe" for g in groups) != self.moe or self.moe_layers is not None:
            raise ValueError(
                "layer_groups: the expert fields are needed exactly when a group has a MoE FFN "
                "(which layers: the groups, not moe_layers)"
            )
        if self.encoder_layers is not None or self.cross_attention or self.parallel:
            raise ValueError(
                "layer_groups with cross-attention, an encoder or parallel blocks is not modelled"
            )
        self._check_linear_groups(groups)
        if self.norm_position != "pre":
            raise ValueError("layer_groups: pre-norm blocks only")
        if self.mla and (
            any(g.n_kv_heads or g.kv_shared for g in groups)
            or self.per_layer_input is not None
            or self.altup is not None
            or self.assistant_target_width is not None
        ):
            raise ValueError(
                "layer_groups with MLA: no KV heads of a group's own, K/V sharing, per-layer "
                "inputs or AltUp"
            )
        if self.indexer is not None and any(g.mixer != "attention" for g in groups):
            raise ValueError(
                "layer_groups with indexed attention: every group attention (Mistral Large 4, "
                "Dots3, HY-V4)"
            )
        if not self.mla and any(g.n_heads or g.kv_lora_rank for g in groups):
            raise ValueError("layer_groups: a group's n_heads or kv_lora_rank needs MLA")
        if self.indexer is None and any(g.no_indexer or g.shared_indexer for g in groups):
            raise ValueError("layer_groups: no_indexer and shared_indexer need an indexer")
        if any(g.no_rope_slices and not (g.no_rope and self.mla) for g in groups):
            raise ValueError("layer_groups: no_rope_slices is for MLA groups without rotary")
        if any(g.no_indexer and g.shared_indexer for g in groups):
            raise ValueError("layer_groups: a group without an indexer shares none")
        if any(g.mixer == "zamba" for g in groups) and (
            self.ssm is None
            or self.rotary_dim is not None
            or not self.gated
            or any(g.mixer == "zamba" and g.ffn != "dense" for g in groups)
        ):
            raise ValueError(
                "layer_groups: a zamba group needs Mamba (ssm), no rotary, a gated dense FFN "
                "(the shared block's MLP)"
            )
        if self.shared_adapter_rank is not None and not any(g.mixer == "zamba" for g in groups):
            raise ValueError("shared_adapter_rank needs a zamba layer group")
        if any(g.mixer == "rglru" for g in groups) != (self.rglru is not None):
            raise ValueError("layer_groups: rglru is needed exactly when a group's mixer is rglru")
        if self.rglru is not None and self.rglru.width % self.rglru.blocks:
            raise ValueError("rglru: blocks must divide width")
        if any(g.mixer == "cross" for g in groups) != (self.cross_tokens is not None):
            raise ValueError(
                "layer_groups: cross_tokens is needed exactly when a group's mixer is cross"
            )
        if any(g.mixer == "conv" for g in groups) != (self.short_conv_kernel is not None):
            raise ValueError(
                "layer_groups: short_conv_kernel is needed exactly when a group's mixer is conv"
            )
        self._check_group_attention(groups)

    def _check_linear_groups(self, groups: tuple[LayerGroup, ...]) -> None:
        """Gated DeltaNet and Kimi Delta Attention groups have their shapes, and only they."""
        deltanet = sum(g.count for g in groups if g.mixer == "deltanet")
        la = self.linear_attention
        if (la is None) != (deltanet == 0) or (la is not None and la.layers != deltanet):
            raise ValueError(
                "layer_groups: linear_attention is needed exactly when a group's mixer is "
                "deltanet, its layers those groups' layers"
            )
        if any(g.mixer == "kda" for g in groups) != (self.kda is not None):
            raise ValueError("layer_groups: kda is needed exactly when a group's mixer is kda")
        if any(g.mixer == "lightning" for g in groups) != (self.lightning is not None):
            raise ValueError(
                "layer_groups: lightning is needed exactly when a group's mixer is lightning"
            )

    def _check_group_attention(self, groups: tuple[LayerGroup, ...]) -> None:
        """A group's window and head-shape overrides: on attention only, each consistent."""
        if any(g.window for g in groups) != (self.sliding_window is not None):
            raise ValueError(
                "layer_groups: sliding_window is needed exactly when a group is windowed"
            )
        if self.sliding_layers is not None:
            raise ValueError("layer_groups: which layers are windowed is the groups' window")
        for g in groups:
            if g.window_size is not None and not g.window:
                raise ValueError("layer_groups: window_size on windowed groups only")
            if (g.window or g.overrides or g.kv_shared or g.no_rope) and g.mixer != "attention":
                raise ValueError(
                    "layer_groups: window, head overrides, kv_shared and no_rope on attention "
                    "groups only"
                )
            dh = g.head_dim or self.dh
            if self.n_heads % (g.n_kv_heads or self.kv_heads):
                raise ValueError(f"layer_groups: {g.n_kv_heads} KV heads do not divide n_heads")
            if (g.rotary_dim or self.rotary_dim or 0) > dh:
                raise ValueError(f"layer_groups: rotary_dim exceeds the group's head dim {dh}")
            if g.no_rope and g.rotary_dim is not None:
                raise ValueError("layer_groups: a group without rotary has no rotary_dim")
            if g.rotary_dim is not None and self.rotary_dim is None:
                raise ValueError("layer_groups: a group's rotary_dim needs the model's rotary_dim")
        self._check_kv_sharing(groups)

    def _check_kv_sharing(self, groups: tuple[LayerGroup, ...]) -> None:
        """A layer reusing K and V reads them from a layer of its window and head shape that
        computes its own (Gemma's rule: the last such layer before the sharing starts), or, in an
        assistant, from its target."""
        attention = [g for g in groups if g.has_attention]
        if self.assistant_target_width is not None:
            if not all(g.kv_shared for g in attention):
                raise ValueError("assistant_target_width: every attention group must be kv_shared")
            return
        for g in attention:
            producer = (g.window, g.head_dim, g.n_kv_heads, g.rotary_dim)
            if g.kv_shared and not any(
                not o.kv_shared and (o.window, o.head_dim, o.n_kv_heads, o.rotary_dim) == producer
                for o in attention
            ):
                raise ValueError(
                    "layer_groups: a kv_shared group needs a group of its window and head shape "
                    "that computes K and V (or assistant_target_width)"
                )

    def _check_layer_kinds(self) -> None:
        if self.kda is not None and self.layer_groups is None:
            raise ValueError("kda needs layer_groups (the Kimi Delta Attention layers)")
        if self.lightning is not None and self.layer_groups is None:
            raise ValueError("lightning needs layer_groups (the lightning attention layers)")
        if self.inkling is not None and (
            self.layer_groups is None
            or any(g.mixer != "attention" or g.ffn is None for g in self.layer_groups)
            or self.rotary_dim is not None
            or self.mla
            or self.altup is not None
            or self.per_layer_input is not None
            or self.sandwich_norm
        ):
            raise ValueError(
                "inkling: layer_groups of attention and an FFN, no rotary, MLA, AltUp, per-layer "
                "inputs or sandwich norms"
            )
        if self.shared_adapter_rank is not None and self.layer_groups is None:
            raise ValueError("shared_adapter_rank needs layer_groups (a zamba group)")
        if self.rglru is not None and self.layer_groups is None:
            raise ValueError("rglru needs layer_groups (the recurrent layers)")
        if self.cross_tokens is not None and self.layer_groups is None:
            raise ValueError("cross_tokens needs layer_groups (the cross-attention layers)")
        if self.short_conv_kernel is not None and self.layer_groups is None:
            raise ValueError("short_conv_kernel needs layer_groups (the conv layers)")
        if self.per_layer_input is not None and (self.layer_groups is None or not self.gated):
            raise ValueError("per_layer_input needs layer_groups and a gated activation")
        if self.altup is not None and self.layer_groups is None:
            raise ValueError("altup needs layer_groups")
        if any(g.sparse_gate for g in self.layer_groups or ()) and (
            self.altup is None or not self.gated
        ):
            raise ValueError("layer_groups: sparse_gate is read for Gemma 3n's layers only (altup)")
        if self.altup is not None and any(
            g.mixer != "attention" or g.ffn != "dense" for g in self.layer_groups or ()
        ):
            raise ValueError("altup: every layer attention and a dense FFN")
        if self.assistant_target_width is not None and self.layer_groups is None:
            raise ValueError("assistant_target_width needs layer_groups (all of them kv_shared)")
        if self.layer_groups is not None:
            self._check_groups()
        elif self.ssm is not None and (
            (self.moe and self.ssm.layers is None)
            or (self.ssm.layers or 0) > self.n_layers
            or self.moe_layers is not None
            or self.sliding_layers is not None
            or self.encoder_decoder
            or self.parallel
            or self.linear_attention
        ):
            raise ValueError(
                "Mamba layers are modelled as a pure Mamba stack or a hybrid whose every layer "
                "has the same FFN (no windowed or dense/MoE split)"
            )
        ssm = self.ssm
        if ssm is not None and ssm.version == 2 and not (ssm.heads and ssm.groups):
            raise ValueError("Mamba-2 needs heads and groups")
        if ssm is not None and ssm.version == 2 and ssm.d_inner % ssm.heads:
            raise ValueError("Mamba-2: heads must divide d_inner")
        if ssm is not None and ssm.bcdt_norm_weights and not (ssm.bcdt_norm and ssm.version == 1):
            raise ValueError("ssm.bcdt_norm_weights needs Mamba-1 with bcdt_norm")
        if self.indexer is not None and not self.mla:
            raise ValueError("indexer needs MLA (kv_lora_rank)")
        if (
            self.indexer is not None
            and self.q_lora_rank is None
            and not self.indexer.query_from_hidden
        ):
            raise ValueError(
                "indexer needs MLA with q_lora_rank (its queries come from the latent)"
            )
        la = self.linear_attention
        if la is None:
            return
        if la.layers > self.n_layers or la.v_heads % la.k_heads:
            raise ValueError(
                "linear_attention: layers must not exceed n_layers, k_heads must divide v_heads"
            )
        if self.encoder_decoder or self.cross_attention or self.parallel:
            raise ValueError(
                "linear attention in encoder-decoder or parallel blocks is not modelled"
            )
        split = (self.sliding_layers or self.n_layers) < self.n_layers or (
            self.moe_layers or self.n_layers
        ) < self.n_layers
        if split:
            raise ValueError(
                "linear attention with windowed or dense layers besides is not modelled"
            )

    def _check_joint_split(self) -> None:
        both = self.sliding_moe_layers or 0
        if not self.window_and_moe_split:
            if both:
                raise ValueError("sliding_moe_layers needs both sliding_layers and moe_layers")
            return
        local, moe = self.sliding_layers or 0, self.moe_layers or self.n_layers
        if not max(0, local + moe - self.n_layers) <= both <= min(local, moe):
            raise ValueError(
                f"sliding_moe_layers ({both}) is impossible with {local} windowed and {moe} MoE "
                f"of {self.n_layers} layers"
            )

    def _check_neighbourhood(self) -> None:
        spec = self.neighbourhood
        if spec is None:
            return
        side = math.isqrt(self.image_tokens or 0)
        if side * side != self.image_tokens or self.decoder or self.layer_groups is not None:
            raise ValueError("neighbourhood: an encoder-only model with a square image_tokens grid")
        if sum(len(s.dilations) for s in spec.stages) != self.n_layers:
            raise ValueError("neighbourhood: n_layers must be the layers of all stages")
        if spec.stages[0].heads != self.n_heads or self.stage_depths or self.pyramid:
            raise ValueError("neighbourhood: n_heads must be stage 1's; no Swin or pyramid stages")
        for i, s in enumerate(spec.stages, start=1):
            if (self.d_model * 2 ** (i - 1)) % s.heads:
                raise ValueError(f"neighbourhood stage {i}: heads must divide the width")

    def _check_vision_stages(self) -> None:
        spec = self.vision_stages
        if spec is None:
            return
        others = (self.stage_depths, self.pyramid, self.neighbourhood, self.layer_groups)
        if self.decoder or any(v is not None for v in others):
            raise ValueError("vision_stages: an encoder-only model without other stages or groups")
        spec.check()
        if spec.block_count != self.n_layers or spec.first != (
            self.d_model,
            self.n_heads,
            self.d_ff,
        ):
            raise ValueError(
                "vision_stages: n_layers must be the blocks of all stages, d_model, n_heads and "
                "d_ff stage 1's"
            )
        if self.image_tokens != spec.first_tokens:
            # The Perceiver has none (its inputs are the instance's seq_len).
            raise ValueError(f"vision_stages: image_tokens must be stage 1's {spec.first_tokens}")

    def _check_pyramid(self) -> None:
        pyr = self.pyramid
        if pyr is None:
            return
        first, grid = pyr.stages[0], pyr.grids()[0]
        if self.stage_depths is not None or self.decoder or self.layer_groups is not None:
            raise ValueError("pyramid: an encoder-only model without stage_depths or layer_groups")
        if sum(s.depth for s in pyr.stages) != self.n_layers:
            raise ValueError("pyramid: n_layers must be the blocks of all stages")
        if (first.width, first.heads, first.d_ff) != (self.d_model, self.n_heads, self.d_ff):
            raise ValueError("pyramid: d_model, n_heads and d_ff must be stage 1's")
        if self.image_tokens != grid * grid:
            raise ValueError(f"pyramid: image_tokens must be stage 1's {grid}x{grid} grid")
        last = len(pyr.stages)
        for i, (s, side) in enumerate(zip(pyr.stages, pyr.grids(), strict=True), start=1):
            if s.width % s.heads or side < s.sr_ratio:
                raise ValueError(
                    f"pyramid stage {i}: heads must divide width and sr_ratio be at most the "
                    f"{side}x{side} grid"
                )
            # The class token has no place on the grid: no reduction of it, no next stage.
            if s.class_token and (s.sr_ratio > 1 or i < last):
                raise ValueError(f"pyramid stage {i}: a class token only in the last stage, sr 1")

    def _check_stages(self) -> None:
        stages = (self.stage_depths, self.stage_heads, self.window_size)
        if all(v is None for v in stages):
            if self.swin_v2:
                raise ValueError("swin_v2 needs Swin's stages (stage_depths)")
            return
        if self.stage_depths is None or self.stage_heads is None or self.window_size is None:
            raise ValueError("stage_depths, stage_heads and window_size go together")
        if self.swin_v2 and self.norm_position != "post":
            raise ValueError("swin_v2: its residual post-norm needs norm_position post")
        if len(self.stage_heads) != len(self.stage_depths):
            raise ValueError("stage_heads must give one head count per stage (stage_depths)")
        if sum(self.stage_depths) != self.n_layers or self.stage_heads[0] != self.n_heads:
            raise ValueError("n_layers must be sum(stage_depths), n_heads stage_heads[0]")
        side = math.isqrt(self.image_tokens or 0)
        if self.image_tokens is None or side * side != self.image_tokens:
            raise ValueError("a hierarchical model needs image_tokens, a square token grid")
        for i, (_, grid, window) in enumerate(stage_grids(self)):
            if grid * 2**i != side or grid % window:
                raise ValueError(
                    f"stage {i + 1}: a {grid}x{grid} grid is not halved evenly from {side} or "
                    f"not tiled by {window}x{window} windows (padding is not modelled)"
                )
            width = self.d_model * 2**i
            if width % self.stage_heads[i]:
                raise ValueError(
                    f"stage {i + 1}: {self.stage_heads[i]} heads do not divide {width}"
                )

    @property
    def kv_heads(self) -> int:
        """Number of key/value heads (``n_heads`` for multi-head attention)."""
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def dh(self) -> int:
        """Head dimension."""
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads

    @property
    def vdh(self) -> int:
        """Per-head value features (``v_head_dim``, else the head dimension)."""
        return self.v_head_dim if self.v_head_dim is not None else self.dh

    @property
    def mla(self) -> bool:
        """Multi-head latent attention (low-rank KV projections)."""
        return self.kv_lora_rank is not None

    @property
    def gated(self) -> bool:
        """Gated FFN: gate and up projections."""
        return self.activation in GATED

    @property
    def moe(self) -> bool:
        return self.n_experts is not None

    @property
    def encoder_decoder(self) -> bool:
        return self.encoder_layers is not None

    @property
    def mamba_layers(self) -> int:
        """Layers with a Mamba mixer (alone or beside attention)."""
        if self.ssm is None:
            return 0
        if self.layer_groups is not None:
            return sum(g.count for g in self.layer_groups if g.has_mamba)
        return self.ssm.layers or self.n_layers

    @property
    def attends(self) -> bool:
        """Some layer has self-attention (not a pure Mamba stack, not RWKV)."""
        if self.rwkv is not None:
            return False
        if self.layer_groups is not None:
            return any(g.has_attention for g in self.layer_groups)
        if self.mlstm is not None:  # xLSTM: the mLSTM mixer on every layer
            return False
        return self.ssm is None or self.mamba_layers < self.n_layers

    @property
    def _plain_encoder_attention(self) -> bool:
        """Multi-head attention of one bidirectional stack, no MLA, layer groups or other mixer
        (what YOSO's kernel and Nystromformer's value convolution are modelled on)."""
        return not (
            self.decoder
            or self.n_kv_heads not in (None, self.n_heads)
            or self.mla
            or self.span_kernel is not None
            or self.fourier_mixing
            or self.layer_groups is not None
            or self.encoder_layers is not None
        )

    @model_validator(mode="after")
    def _check_encoder(self) -> ModelConfig:
        enc = self.encoder
        if enc is None:
            if self.encoder_proj:
                raise ValueError("encoder_proj needs an encoder of its own shape (encoder)")
            return self
        if self.encoder_layers != enc.n_layers or (
            enc.d_model != self.d_model
            and not (self.encoder_proj or self.transducer)
            and (self.cross_shape is None or self.cross_shape.kv_width != enc.d_model)
            and not (self.prefix_conditioning and self.prefix_conditioning.text_proj)
        ):
            raise ValueError(
                "encoder: needs encoder_layers = its n_layers and the same d_model (unless "
                "encoder_proj)"
            )
        if self.prefix_conditioning is not None and (
            self.cross_attention or self.encoder_proj or self.merged_cross_attention
        ):
            raise ValueError("prefix_conditioning: no cross-attention and no encoder_proj")
        if self.transducer is not None and (enc.conformer is None or self.cross_attention):
            raise ValueError("transducer: a conformer encoder and no cross-attention")
        plain = not (enc.encoder_decoder or enc.cross_attention or enc.parallel)
        plain = plain and enc.stage_depths is None
        if not plain or enc.mla or enc.decoder_tokens is not None:
            raise ValueError(
                "encoder: an encoder stack only (no MLA, cross-attention, parallel blocks, stages)"
            )
        return self

    @property
    def window_and_moe_split(self) -> bool:
        """Some layers windowed and some layers dense: two independent splits (not modelled)."""
        windowed = self.sliding_window is not None and (self.sliding_layers or 0) < self.n_layers
        windowed = windowed and self.sliding_layers is not None
        return windowed and self.moe and (self.moe_layers or self.n_layers) < self.n_layers


def stage_grids(model: ModelConfig) -> list[tuple[int, int, int]]:
    """Per stage of a hierarchical model: (blocks, grid side, window side)."""
    assert model.stage_depths is not None and model.window_size is not None
    side = math.isqrt(model.image_tokens or 0)
    out = []
    for i, depth in enumerate(model.stage_depths):
        grid = side // 2**i
        out.append((depth, grid, min(model.window_size, grid)))
    return out


# ---- shipped configs --------------------------------------------------------------------------


def _models_dir() -> Any:
    return resources.files("cosamt.workload").joinpath("models")


def list_models() -> list[str]:
    """Names of the shipped model configs, sorted."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _models_dir().iterdir()
        if entry.name.endswith(".json")
    )


def get_model(name: str) -> ModelConfig:
    """A shipped model config by name; :class:`InputError` if there is none of that name."""
    known = list_models()
    if name not in known:
        raise InputError(
            "", [Problem("model", f"unknown model {name!r}; known: {', '.join(known)}")]
        )
    entry = _models_dir().joinpath(f"{name}.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as exc:  # a broken shipped file: still report it as an input problem
        raise InputError(f"models/{name}.json", problems_from_pydantic(exc)) from exc


# ---- Hugging Face config.json -----------------------------------------------------------------


def load_hf_config(path: Path, name: str | None = None) -> ModelConfig:
    """Map a Hugging Face ``config.json`` on disk (no network, no ``transformers``) to a config.

    See :mod:`cosamt.workload.hf` for the fields read and the features refused.
    """
    from cosamt.workload.hf import load_hf_config as load

    return load(path, name)
