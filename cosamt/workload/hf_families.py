"""What Hugging Face model families fix in their code and their configs do not state.

Used by :mod:`cosamt.workload.hf` only for structural variants (gated FFN, norm placement, parallel
blocks, extra vision tokens) and for the features refused by name. Written from the families'
modelling code in ``transformers``; ``tests/test_hf_corpus.py`` checks the gating against a scan of
that code.
"""

from __future__ import annotations

# Families whose code fixes what their configs do not state.
FAMILY_ACTIVATION = {"bloom": "gelu", "esm": "gelu", "mpt": "gelu", "ctrl": "relu"}
FOUR_X_FFN = frozenset({"bloom", "falcon", "xlm", "flaubert", "openai-gpt"})

# Structural variants the fields do not state (from the families' modelling code).
GATED_TYPES = frozenset(
    [
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "qwen3_next",
        "gemma",
        "gemma2",
        "gemma3_text",
        "gemma3n_text",  # Gemma3nTextMLP: down(act(gate) * up)
        "voxtral_realtime_text",  # VoxtralRealtimeTextMLP: down(act(gate) * up)
        "mistral_large4_text",  # MistralLarge4TextMLP and its experts' gate_up_proj
        "dots3_note_text",  # Dots3NoteTextMLP (DeepseekV32MLP) and its experts
        "hy_v4",  # HYV4MLP and HYV4Experts' gate_up_proj
        "hy_v4_vl_text",
        "phi3",
        "phimoe",
        "olmo",
        "olmo2",
        "olmo3",
        "olmo_hybrid",
        "olmoe",
        "cohere",
        "cohere2",
        "granite",
        "granitemoe",
        "granitemoeshared",
        "deepseek_v2",
        "deepseek_v3",
        "minicpm3",
        "youtu",
        "mistral4",
        "sarvam_mla",
        "axk1",
        "glm4_moe_lite",
        "glm4v_moe_text",
        "qwen3_omni_moe_text",
        "kolibri1",
        "exaone_moe",
        "flint",
        "solar_open",
        "dbrx",
        "jetmoe",
        "helium",
        "glm",
        "glm4",
        "glm4_moe",
        "exaone4",
        "smollm3",
        "minimax",
        "stablelm",
        "ministral",
        "dots1",
        "hunyuan_v1_dense",
        "hunyuan_v1_moe",
        "ernie4_5",
        "ernie4_5_moe",
        "seed_oss",
        "bitnet",
        "diffllama",
        "doge",
        "csm_depth_decoder",
        "emu3",
        "chameleon",
        "aria_text",
        "moonshine",
        "dia_encoder",  # DiaMLP is Phi3MLP: gate_up_proj chunked into gate and up
        "dia_decoder",
        # MoonshineStreamingDecoder is MoonshineDecoder: MoonshineDecoderMLP's fc1 chunked in two.
        "moonshine_streaming_decoder",
        # gate_proj, up_proj, down_proj (KimiLinearMLP, BailingHybridMLP, LaraMiniMLP,
        # Ernie4_5_VLMoeMLP, UnlimitedOcrTextMLP) and experts chunking gate_up_proj.
        "unlimited_ocr_text",
        "inkling_text",  # InklingMLP, InklingExperts, InklingSharedExperts
        "axk2",  # AXK2MLP, AXK2Experts
        "zaya",  # ZayaExperts: gate_up_proj chunked
        "longcat_flash",  # LongcatFlashMLP, LongcatFlashExperts
        "kimi_linear",
        "bailing_hybrid",
        "lara_mini",
        "ernie4_5_vl_moe_text",
        "mllama_text_model",
        "open-llama",
        "llama4_text",
        "mimi",
        "gemma4",
        "gemma4_text",
        "gemma4_unified",
        "gemma4_unified_text",
        "vaultgemma",
        # T5Gemma's halves (T5GemmaMLP, T5Gemma2MLP: gate_proj, up_proj, down_proj).
        "t5_gemma_module",
        "t5gemma2_text",
        "t5gemma2_decoder",
        "ministral3",
        "qwen3_5",
        "qwen3_5_text",
        "deepseek_v32",
        "bamba",
        "jamba",
        "granitemoehybrid",
        "falcon_h1",
        "glm_moe_dsa",
        "qwen3_5_moe",
        "qwen3_5_moe_text",
        "cwm",
        "emu3",
        "hyperclovax",
        "granite_swa",
        "granitemoe_swa",
        "cohere_compass_text",
        "phi4_multimodal",
        "eurobert",
        "nomic_bert",
        "gte",
        "esmc",
        "ultrabert",
        "afmoe",
        "beam",
        "flex_olmo",
        "gpt_oss",
        "hy_v3",
        "inkling_text",
        "laguna",
        "mellum",
        "mimo_v2_flash",
        "minimax_m2",
        "minimax_m3_vl_text",
        "muse_spark_text",
        "qwen3_omni_moe_talker_text",
        "qwen3_vl_moe_text",
        "step3p5",
        "hrm_text",
        "emu3_text_model",
        "pix2struct_text_model",
        "cohere2_moe",
        "modernbert",
        "modernbert-decoder",
    ]
)
# Gated-FFN families that normalise with LayerNorm, not RMSNorm (for configs that state neither).
LAYERNORM_GATED_TYPES = frozenset(
    {"modernbert", "modernbert-decoder", "dbrx", "olmo", "nomic_bert", "gte", "stablelm", "cohere",
     "moonshine_streaming_decoder"}  # MoonshineStreamingDecoderLayer: nn.LayerNorm(bias=False)
)  # fmt: skip
POST_NORM_TYPES = frozenset(
    [
        "bert",
        "roberta",
        "xlm-roberta",
        "camembert",
        "electra",
        "distilbert",
        "albert",
        "ernie",
        "nezha",
        "roformer",
        "mpnet",
        "layoutlm",
        "layoutlmv2",
        "layoutlmv3",
        "markuplm",
        "lilt",
        "xmod",
        "splinter",
        "bart",
        "marian",
        "blenderbot-small",
        "data2vec-text",
        "mra",
        "nystromformer",
        "yoso",
        "ibert",
        "mobilebert",
        "squeezebert",
        "canine",
        "tapas",
        "rembert",
        "funnel",
        "bros",
        "xlm",
        "flaubert",
        "visual_bert",
        "detr",
    ]
)
# Bidirectional encoders (no causal mask, no decode phase).
ENCODER_TYPES = (POST_NORM_TYPES - {"bart", "marian", "blenderbot-small"}) | frozenset(
    ["roberta-prelayernorm", "megatron-bert", "esm", "xlm-roberta-xl", "modernbert", "big_bird"]
)
# Parallel attention + MLP with one shared norm (flags: falcon ``parallel_attn``, NeoX-style
# ``use_parallel_residual``).
PARALLEL_TYPES = frozenset({"gptj", "codegen", "phi", "cohere", "cohere2", "gpt_neox_japanese"})
# Vision transformers: extra tokens besides the patches (class, distillation).
# (SigLIP-style encoders pool without a class token; I-JEPA has none either.)
EXTRA_TOKENS = {
    "deit": 2,
    "ijepa": 0,
    "siglip_vision_model": 0,
    "siglip2_vision_model": 0,
    "aimv2_vision_model": 0,
    "idefics2_vision": 0,
    "idefics3_vision": 0,
    "smolvlm_vision": 0,
    "vitpose_backbone": 0,
}

# Hierarchical vision transformers read by their stages (windowed attention, patch merging).
HIERARCHICAL_TYPES = frozenset({"swin", "donut-swin", "swinv2"})  # swinv2: cosamt.workload.swin_v2

# Detection transformers read as an encoder-decoder with a fixed set of decoder queries (plain
# DETR attention; the CNN backbone is a front-end). Conditional DETR and DAB-DETR: the same with
# their conditional cross-attention (cosamt.workload.hf_encdec); the deformable ones:
# hf_deformable.
QUERY_DECODER_TYPES = frozenset({"detr", "table-transformer"})

# Features that change the operators in ways not modelled: refused by name.
REFUSED_KEYS = (
    ("zero_expert_num", "zero-computation experts (zero_expert_num) are not modelled"),
    ("state_size", "state-space / recurrent layers (state_size) are not modelled"),
    ("ssm_state_size", "state-space layers (ssm_state_size) are not modelled"),
    ("attention_window", "local + global attention (attention_window) is not modelled"),
    ("num_hashes", "LSH attention (num_hashes) is not modelled"),
    ("conv_kernel", "convolution layers (conv_kernel) are not modelled"),
    # A convolution module beside attention (conformer-like encoders: LASR, Wav2Vec2-BERT, Granite
    # Speech 5): only transformers' ParakeetEncoder conformer is modelled (hf_conformer).
    (
        "conv_kernel_size",
        "a convolution module beside attention (conv_kernel_size, as in a conformer) is not "
        "modelled for this model type",
    ),
    (
        "conv_depthwise_kernel_size",
        "a convolution module beside attention (conv_depthwise_kernel_size, as in a conformer) "
        "is not modelled for this model type",
    ),
    ("depths", "hierarchical stages (depths) are not modelled"),
    ("hidden_sizes", "hierarchical stages (hidden_sizes) are not modelled"),
    ("block_sizes", "funnel pooling (block_sizes) is not modelled"),
    ("pos_att_type", "disentangled relative attention (pos_att_type) is not modelled"),
    ("mask_ratio", "masked-patch encoding (mask_ratio) is not modelled"),
    ("num_detection_tokens", "detection tokens (num_detection_tokens) are not modelled"),
    ("mamba_d_state", "Mamba layers (mamba_d_state) are not modelled"),
    ("mamba_expand", "Mamba layers (mamba_expand) are not modelled"),
    ("layers_block_type", "hybrid layer stacks (layers_block_type) are not modelled"),
    ("attn_layer_indices", "hybrid layer stacks (attn_layer_indices) are not modelled"),
    ("block_types", "hybrid recurrent/attention blocks (block_types) are not modelled"),
    ("hybrid_override_pattern", "hybrid layer stacks (hybrid_override_pattern) are not modelled"),
    (
        "encoder_attention_type",
        "local / transient-global attention (encoder_attention_type) is not modelled",
    ),
    ("num_queries", "object queries (num_queries): detection transformers are not modelled"),
    ("use_swiglu_ffn", "DINOv2's SwiGLU FFN (use_swiglu_ffn) is not modelled"),
    ("num_frames", "video transformers (num_frames) are not modelled"),
    ("keep_window_size", "dynamic mask attention (keep_window_size) is not modelled"),
    ("num_global_tokens", "global tokens with local blocks (num_global_tokens) are not modelled"),
    (
        "adapter_reduction_factor",
        "per-language adapters (adapter_reduction_factor) are not modelled",
    ),
    ("attention_chunk_size", "chunked attention (attention_chunk_size) is not modelled"),
    (
        "sliding_windows",
        "per-layer (left, right) windows (sliding_windows) are modelled for Moonshine "
        "Streaming's encoder inside its encoder-decoder config only (point hf_config at it)",
    ),
    ("global_attn_indexes", "windowed + global attention (global_attn_indexes) is not modelled"),
    ("window_block_indices", "windowed attention blocks (window_block_indices) are not modelled"),
    # Detection transformers past plain DETR: their attention samples a few points per query.
    (
        "decoder_n_points",
        "deformable attention (decoder_n_points sampling points per query and feature level) "
        "is not modelled",
    ),
    (
        "decoder_num_points",
        "deformable attention (decoder_num_points sampling points per query and feature level) "
        "is not modelled",
    ),
    (
        "hidden_size_per_layer_input",
        "per-layer input embeddings (hidden_size_per_layer_input: a gate and a projection per "
        "layer) are not modelled",
    ),
    ("num_kv_shared_layers", "KV shared across layers (num_kv_shared_layers) is not modelled"),
    ("attention_k_eq_v", "keys used as values (attention_k_eq_v) are not modelled"),
    ("enable_moe_block", "an MoE block beside the MLP (enable_moe_block) is not modelled"),
    (
        "cross_attention_layers",
        "cross-attention-only layers among the self-attention ones (cross_attention_layers) "
        "are not modelled",
    ),
)
# Gemma 4 text models: without per_layer_config their configuration classes give the
# full-attention layers head_dim global_head_dim (512 when not stated), not head_dim.
GLOBAL_HEAD_DIM_TYPES = frozenset(
    {"gemma4_text", "gemma4_unified_text", "diffusion_gemma_text", "embedding_gemma2_text"}
)
# Families whose structure no field states and that are not modelled.
REFUSED_TYPES = {
    # seamless_m4t(_v2): read as their text-to-text model (cosamt.workload.hf_speech).
    "pixtral": "Pixtral's variable-resolution images (row-break tokens, 2D rotary) are not modelled",
    "hrm_text": "hierarchical recurrent reasoning loops are not modelled",
    # BERT-shaped configs whose blocks are not BERT's (read as plain BERT they would be wrong).
    "autoformer": "Autoformer's auto-correlation (AutoformerAttention: torch.fft.rfft / irfft of "
    "Q and K per channel, not an Einsum; a dense L x L correlation would count L^2 work the code "
    "does in L log L; V gathered at data-dependent top-k delays) and series decomposition are "
    "not modelled",
}
