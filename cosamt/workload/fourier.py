"""FNet's Fourier token mixing (Lee-Thorp et al. 2021, arXiv:2105.03824; transformers'
``FNetBasicFourierTransform``) in place of self-attention: the real part of the 2D discrete
Fourier transform of the layer input over its hidden and sequence axes,
``Re(F_m X F_d)``, no weights learned.

With the DFT matrices ``F = C - iS`` (C the cosines, S the sines) and X real, as real GEMMs::

    [A | B] = X [C_d | S_d]                 # fourier_hidden: d -> 2d per token
    Y = C_m A - S_m B                       # fourier_seq: every output token from every token

the real part is all the code keeps (``.real``), so the imaginary part of the sequence transform
is not computed. ``fourier_hidden`` is a projection whose weight is the constant DFT matrix;
``fourier_seq`` is ``Y[b,m,f] += W[m,n,c] * Z[b,n,c,f]`` over the input tokens ``n`` and the two
parts ``c`` (cosine, minus sine), shaped like attention's ``P.V`` with a constant ``W``. This is
the DFT-matrix path transformers takes with ``use_tpu_fourier_optimizations`` (``two_dim_matmul``
over ``scipy.linalg.dft`` matrices; its complex einsum does twice these real products: a complex
product of the cast input and the imaginary output part it discards); without it
``torch.fft.fftn`` computes the same transform by FFTs in O(m d log(m d)) operations, fewer than
these GEMMs: counted as the GEMMs, an upper bound, stated in the assumptions.
"""

from __future__ import annotations

from cosamt.workload.einsum import Einsum, Role, Tensor
from cosamt.workload.models import ModelConfig
from cosamt.workload.transformer import BlockPlan, _projection

PARTS = 2  # the cosine and (minus) sine parts of a DFT matrix


def fourier_ops(model: ModelConfig, plan: BlockPlan, b: int) -> list[Einsum]:
    """The hidden-axis DFT (cosine and sine parts of every token), then the sequence-axis DFT's
    real part from both."""
    p, m, c, d = plan.prefix, plan.m, plan.count, model.d_model
    seq = Einsum(
        name=f"{p}fourier_seq",
        dims={"b": b, "m": m, "n": plan.n, "c": PARTS, "f": d},
        tensors=(
            Tensor("W", ("m", "n", "c"), Role.WEIGHT),
            Tensor("Z", ("b", "n", "c", "f"), Role.INPUT),
            Tensor("Y", ("b", "m", "f"), Role.OUTPUT),
        ),
        count=c,
    )
    return [_projection(f"{p}fourier_hidden", b, m, d, PARTS * d, c), seq]


def assumptions(model: ModelConfig) -> list[str]:
    """How the Fourier mixing is counted."""
    if not model.fourier_mixing:
        return []
    return [
        "fourier mixing (FNet): the real part of the 2D DFT as real GEMMs over the DFT "
        "matrices (fourier_hidden: d -> 2d, its cosine and sine parts; fourier_seq: "
        "C_m A - S_m B over every token), the DFT-matrix path of use_tpu_fourier_optimizations "
        "(whose complex einsum does twice these products); torch.fft.fftn's FFTs (the default) "
        "need fewer operations: an upper bound; the DFT matrices are weights (constants)"
    ]
