"""Shapes of layer kinds beside plain attention: DeepSeek's sparse (indexed) attention, Gated
DeltaNet linear attention, Mamba mixers, and groups of identical layers in stacks whose layers
differ (hybrids). Held by :class:`cosamt.workload.models.ModelConfig`; their
operators are built by :mod:`cosamt.workload.recurrent` (see ``docs/workloads.md``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from cosamt.limits import Heads, Width

PositiveInt = Annotated[int, Field(gt=0, strict=True)]


class Indexer(BaseModel):
    """The lightning indexer of DeepSeek sparse attention (DeepSeek-V3.2): ``heads`` query heads
    of ``head_dim`` features (from the query latent) score every key against one shared
    ``head_dim``-wide key; attention then reads the ``topk`` best keys per query."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    heads: PositiveInt
    """Indexer query heads (``index_n_heads``)."""
    head_dim: PositiveInt
    """Features per indexer head and of the shared indexer key (``index_head_dim``)."""
    topk: PositiveInt
    """Keys each query attends to (``index_topk``)."""
    rotary_dim: Annotated[int, Field(ge=0, strict=True)] = 0
    """Rotated features of the indexer's query heads and key (``qk_rope_head_dim``)."""
    query_from_hidden: bool = False
    """The indexer's queries from a LayerNorm of the layer input (Mistral Large 4's
    ``MistralLarge4TextIndexer``: ``q_input_norm``, ``wq_b`` from the hidden size), not from
    the query latent."""


class LinearAttention(BaseModel):
    """Gated DeltaNet layers (Qwen3-Next, Qwen3.5): a recurrent ``k_dim`` x ``v_dim`` state per
    value head, a short causal convolution over Q, K and V, a gated RMSNorm on the output."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    layers: PositiveInt
    """Layers with linear attention (the others have full attention)."""
    k_heads: PositiveInt
    """Query/key heads (``linear_num_key_heads``)."""
    v_heads: PositiveInt
    """Value heads, one state each (``linear_num_value_heads``); a multiple of ``k_heads``."""
    k_dim: PositiveInt
    """Features per query/key head (``linear_key_head_dim``)."""
    v_dim: PositiveInt
    """Features per value head (``linear_value_head_dim``)."""
    conv_kernel: PositiveInt
    """Taps of the depthwise causal convolution (``linear_conv_kernel_dim``)."""
    beta_doubled: bool = False
    """Beta scaled by 2 after its sigmoid (OLMo-Hybrid's ``linear_allow_neg_eigval``: state
    eigenvalues in [-1, 1]): one more operation per value head and token in ``la_gates``."""


class StateSpace(BaseModel):
    """Mamba (selective state-space) layers replacing attention and FFN on every layer: Mamba-1
    (Gu and Dao, arXiv:2312.00752: a ``d_state`` state per inner channel, ``dt_rank``-wide
    time-step projection) or Mamba-2 (Dao and Gu, arXiv:2405.21060: ``heads`` heads of
    ``head_dim`` channels, a ``head_dim`` x ``d_state`` state per head, B and C per group)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    version: Annotated[int, Field(ge=1, le=2, strict=True)]
    """1: Mamba-1's selective scan; 2: Mamba-2's SSD (scalar decay per head)."""
    d_inner: PositiveInt
    """Inner channels (``expand`` x hidden size)."""
    d_state: PositiveInt
    """State features per channel (``state_size``)."""
    conv_kernel: PositiveInt
    """Taps of the depthwise causal convolution (``conv_kernel``)."""
    dt_rank: Annotated[int, Field(ge=0, strict=True)] = 0
    """Mamba-1: width of the time-step projection (``time_step_rank``)."""
    heads: Annotated[int, Field(ge=0, strict=True)] = 0
    """Mamba-2: heads (``num_heads``), ``d_inner / heads`` channels each."""
    groups: Annotated[int, Field(ge=0, strict=True)] = 0
    """Mamba-2: groups of heads sharing B and C (``n_groups``)."""
    bcdt_norm: bool = False
    """Falcon-Mamba: weightless RMS norms on B, C and the time step after ``x_proj``."""
    bcdt_norm_weights: bool = False
    """Jamba: those norms (``dt_layernorm``, ``b_layernorm``, ``c_layernorm``) have weights (one
    more multiply per element); needs ``bcdt_norm``."""
    gated_norm: bool = True
    """Mamba-2: the output goes through a gated RMSNorm; ``False``: only times silu(z) (Falcon-H1
    without ``mamba_rms_norm``)."""
    layers: PositiveInt | None = None
    """A hybrid stack (Bamba): this many layers have the Mamba mixer in place of attention, every
    layer its FFN; ``None``: a pure Mamba stack (every layer only norm, mixer, residual), or the
    layers of ``ModelConfig.layer_groups`` whose mixer is Mamba."""


class AltUp(BaseModel):
    """Gemma 3n's layers (``Gemma3nTextDecoderLayer``): the residual stream is ``inputs``
    copies of the hidden state (AltUp, Baykal et al., NeurIPS 2023), predicted from each other
    before a layer and corrected after it; the layer runs on one of them, beside a low-rank
    residual (LAuReL); operators: :mod:`cosamt.workload.altup`."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    inputs: Annotated[int, Field(ge=2, strict=True)]
    """Copies of the hidden state (``altup_num_inputs``)."""
    laurel_rank: PositiveInt
    """Width of LAuReL's low-rank residual (``laurel_rank``): hidden -> rank -> hidden."""
    correct_scale: bool = True
    """The corrected active copy is scaled per feature (``altup_correct_scale``) before the
    per-layer input gate."""


class BlockSparse(BaseModel):
    """BigBird's block-sparse attention (Zaheer et al. 2020, ITC; transformers'
    ``BigBirdBlockSparseAttention``): the sequence in blocks of ``block_size``; the first and last
    block rows attend to every key, the others to 3 sliding, 2 global (first and last) and
    ``random_blocks`` random key blocks. Full attention when the sequence is at most
    ``(5 + 2 x random_blocks) x block_size`` tokens (transformers then switches to
    ``original_full``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    block_size: PositiveInt
    """Tokens per block (``block_size``)."""
    random_blocks: Annotated[int, Field(ge=0, strict=True)]
    """Random key blocks per block row (``num_random_blocks``)."""


class GlobalLocal(BaseModel):
    """Pegasus-X's encoder attention (Phang et al. 2022, sec. 3; transformers'
    ``PegasusXGlobalLocalAttention``): ``global_tokens`` learned tokens that go through every
    layer beside the input's tokens; the input, padded to whole blocks of ``block_size``, attends
    block by block to its own block and the global tokens; the global tokens attend to all. With
    ``stagger``, every odd layer shifts its blocks by half a block (``pad_local_tokens``: half a
    block of padding on each side, in attention only)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    block_size: PositiveInt
    """Tokens per local block (``block_size``)."""
    global_tokens: PositiveInt
    """Global tokens (``num_global_tokens``)."""
    stagger: bool
    """Odd layers' blocks staggered by half a block (``stagger_local_blocks``)."""


class KimiDelta(BaseModel):
    """Kimi Delta Attention layers (transformers' ``KimiLinearDeltaAttention``,
    ``BailingHybridDeltaAttention``): Gated DeltaNet with a forget gate per key channel instead
    of per head. ``heads`` heads of ``head_dim`` features for Q, K and V alike (a ``head_dim``
    x ``head_dim`` state each), a short causal convolution over Q, K and V, the forget gate and
    the output gate each a projection of the layer input (low-rank through ``forget_rank`` /
    ``gate_rank`` features, or full), a sigmoid-gated RMSNorm on the output."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    heads: PositiveInt
    """Heads (``linear_num_heads``), one state each."""
    head_dim: PositiveInt
    """Features per head of Q, K and V (``linear_head_dim``)."""
    conv_kernel: PositiveInt
    """Taps of the depthwise causal convolution (``linear_conv_kernel_dim``)."""
    forget_rank: PositiveInt | None = None
    """The forget gate through this many features (Kimi Linear's ``f_a_proj`` / ``f_b_proj``:
    ``head_dim``); ``None``: one full projection (Bailing's ``f_proj``)."""
    gate_rank: PositiveInt | None = None
    """The output gate likewise (``g_a_proj`` / ``g_b_proj``; ``None``: ``g_proj``)."""


class Lightning(BaseModel):
    """MiniMax's lightning attention layers (transformers' ``MiniMaxLightningAttention``):
    per-head decayed linear attention computed in blocks of ``block_size`` tokens, an RMSNorm
    and a sigmoid output gate (:mod:`cosamt.workload.lightning`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    heads: PositiveInt
    """Heads (``num_attention_heads``), an ``head_dim`` x ``head_dim`` state each."""
    head_dim: PositiveInt
    """Features per head of Q, K and V (``head_dim``, else hidden / heads)."""
    block_size: PositiveInt
    """Tokens per block of the prefill computation (``block_size``)."""


class Inkling(BaseModel):
    """Inkling's layers (transformers' ``InklingDecoderLayer``; operators:
    :mod:`cosamt.workload.inkling`): attention with per-token relative logits and short
    convolutions on K and V, a short convolution after each sublayer, shared experts scored by
    the router."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    d_rel: PositiveInt
    """Relative states per query head (``d_rel``)."""
    rel_extent: PositiveInt
    """Distances of the bias bank on full-attention layers (``rel_extent``; windowed layers:
    the window)."""
    conv_kernel: PositiveInt
    """Taps of every short convolution (``conv_kernel_size``)."""
    shared_experts: Annotated[int, Field(ge=0, strict=True)] = 0
    """Shared experts the router also scores (``n_shared_experts``)."""


class Zaya(BaseModel):
    """ZAYA's layers (transformers' ``ZayaDecoderLayer``; operators: :mod:`cosamt.workload.zaya`):
    compressed convolutional attention and an MLP router carrying its state across layers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    time0: PositiveInt
    """Taps of the depthwise convolution over the query and key channels (``cca_time0``)."""
    time1: PositiveInt
    """Taps of the grouped convolution, one group per query and key head (``cca_time1``)."""
    router_hidden: PositiveInt
    """Width of the router's MLP (``router_hidden_size``)."""


class LongCat(BaseModel):
    """LongCat-Flash's layers (transformers' ``LongcatFlashDecoderLayer``; operators:
    :mod:`cosamt.workload.longcat`): two MLA sublayers and two dense MLPs per layer, one
    shortcut-connected MoE with zero-computation experts."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    zero_experts: Annotated[int, Field(ge=0, strict=True)]
    """Zero-computation (identity) experts the router scores beside the routed ones
    (``zero_expert_num``)."""


class Rglru(BaseModel):
    """Griffin's recurrent block (De et al. 2024, arXiv:2402.19427; transformers'
    ``RecurrentGemmaRecurrentBlock``, ``RecurrentGemmaRglru``): two branches of ``width``
    channels, a depthwise causal convolution and the Real-Gated Linear Recurrent Unit (input and
    recurrence gates from block-diagonal projections of ``blocks`` blocks) on one, GELU on the
    other, their product projected back."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    width: PositiveInt
    """Channels of the recurrence (``lru_width``)."""
    blocks: PositiveInt
    """Diagonal blocks of the two gates' projections (``num_attention_heads``): each
    ``width / blocks`` square."""
    conv_kernel: PositiveInt
    """Taps of the depthwise causal convolution (``conv1d_width``)."""


Mixer = Literal[
    "attention",
    "mamba",
    "parallel",
    "conv",
    "deltanet",
    "kda",
    "lightning",
    "cross",
    "rglru",
    "zamba",
]
FfnKind = Literal["dense", "moe"]


class LayerGroup(BaseModel):
    """Identical layers of a stack whose layers differ (Jamba, Nemotron-H, Granite-4.0-H,
    Falcon-H1, LFM2, Gemma 4): each pre-norm sublayer (the token mixer, the FFN) is norm,
    sublayer, residual add. A layer has a mixer, an FFN or both. An attention group may window
    its keys, override the model's head shape (Gemma 4's ``per_layer_config``) and reuse another
    layer's K and V (``kv_shared``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    count: PositiveInt
    """Layers of this structure."""
    mixer: Mixer | None
    """Token mixer: ``attention``, ``mamba`` (``ModelConfig.ssm``), ``parallel`` (attention and
    Mamba side by side on the same normed input, their outputs summed: Falcon-H1), ``conv`` (LFM2's
    gated short convolution, ``ModelConfig.short_conv_kernel`` taps), ``deltanet`` (Gated DeltaNet,
    ``ModelConfig.linear_attention``), ``kda`` (Kimi Delta Attention, ``ModelConfig.kda``), ``lightning`` (MiniMax's lightning
    attention, ``ModelConfig.lightning``),
    ``cross`` (cross-attention
    alone, to ``ModelConfig.cross_tokens`` tokens: Mllama's cross-attention layers), ``rglru``
    (Griffin's recurrent block, ``ModelConfig.rglru``: Recurrent Gemma), ``zamba`` (Zamba's hybrid
    layer: the shared attention block over the hidden state beside the input embeddings, its
    linear, then the Mamba sublayer: :mod:`cosamt.workload.zamba`); ``None``: none
    (a Nemotron-H MLP or MoE layer)."""
    ffn: FfnKind | None
    """FFN: ``dense`` (``d_ff``), ``moe`` (the expert fields); ``None``: none (a Nemotron-H
    Mamba or attention layer)."""
    window: bool = False
    """Attention: keys per query capped at ``ModelConfig.sliding_window`` on these layers."""
    window_size: PositiveInt | None = None
    """Attention with ``window``: these layers' own cap on keys per query, in place of
    ``ModelConfig.sliding_window`` (NeoMME's per-layer windows); ``None``: the model's."""
    head_dim: Width | None = None
    """Attention: these layers' head dim (``None``: the model's)."""
    n_kv_heads: Heads | None = None
    """Attention: these layers' KV heads (``None``: the model's); must divide ``n_heads``."""
    rotary_dim: PositiveInt | None = None
    """Attention: these layers' rotated features per head (``None``: the model's)."""
    sparse_gate: bool = False
    """FFN: the gate projection's output sparsified before its activation (Gemma 3n's
    ``activation_sparsity_pattern`` > 0: ``relu(g - mean - std * z)`` per token, a Gaussian top-k);
    vector work, the projections run dense."""
    kv_shared: bool = False
    """Attention: these layers reuse K and V an earlier layer computed (Gemma 4's and Gemma 3n's
    ``num_kv_shared_layers``; an assistant's every layer reads its target's): no K/V projections,
    rotary on Q only; QKᵀ and P·V still run."""
    no_rope: bool = False
    """Attention: no rotary embedding on these layers (Llama 4's NoPE layers, AFMoE's
    full-attention layers)."""
    n_heads: Heads | None = None
    """MLA: these layers' query heads (each with its own decompressed K and V; ``None``: the
    model's; Dots3's sliding layers)."""
    kv_lora_rank: Width | None = None
    """MLA: these layers' KV latent width (``None``: the model's)."""
    no_indexer: bool = False
    """Indexed attention models: these layers attend without the indexer (Dots3's
    ``sliding_attention`` layers beside its ``indexed_attention`` ones)."""
    no_rope_slices: bool = False
    """MLA with ``no_rope``: no rotated slices at all (Mistral Large 4's NoPE layers:
    ``kv_a_proj_with_mqa`` to the latent only, ``kv_b_proj`` decompressing all ``head_dim`` key
    features, no rotary in the indexer); without it the rotary-sized slices stay, unrotated."""
    shared_indexer: bool = False
    """Indexed attention models: these layers reuse the top-k keys an earlier layer's indexer
    chose (``indexer_types`` ``shared``: HY-V4): no indexer operators, attention still over the
    top-k keys."""

    @property
    def overrides(self) -> dict[str, int]:
        """The model fields these layers' attention replaces (head dim, KV heads, rotary; MLA's
        heads and latent width)."""
        fields = {"head_dim": self.head_dim, "n_kv_heads": self.n_kv_heads}
        fields |= {"rotary_dim": self.rotary_dim, "n_heads": self.n_heads}
        fields["kv_lora_rank"] = self.kv_lora_rank
        return {k: v for k, v in fields.items() if v is not None}

    @property
    def has_mamba(self) -> bool:
        return self.mixer in ("mamba", "parallel", "zamba")

    @property
    def has_attention(self) -> bool:
        return self.mixer in ("attention", "parallel", "zamba")

    @property
    def shape(self) -> tuple[object, ...]:
        """What makes two groups' layers differ."""
        return (
            self.mixer,
            self.ffn,
            self.window,
            self.window_size,
            self.head_dim,
            self.n_kv_heads,
            self.rotary_dim,
            self.kv_shared,
            self.sparse_gate,
            self.no_rope,
            self.n_heads,
            self.kv_lora_rank,
            self.no_indexer,
            self.shared_indexer,
            self.no_rope_slices,
        )
