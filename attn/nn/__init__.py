"""The models: attention variants, the RNN and Transformer families, decoding, the C kernels.

    attention        the RNN attention variants (additive, dot, general) behind one interface + registry,
                     and masked_softmax, the one masking rule
    model            the GRU encoder-decoder every RNN variant shares (none / additive / dot / general)
    recurrence       the GRU recurrences, fused (kernels/gru.c) or PyTorch's
    positions        six positional encodings behind one interface (sinusoidal, learned, RoPE, ALiBi, T5, none)
    transformer*     the pre-norm encoder-decoder and decoder-only Transformers
    models           build_model(ModelConfig, V_src, V_tgt): the one factory over both families
    decode           greedy and beam search, for any model of the protocol
    fused, kernel_abi  the C kernels, built on first use, called through typed, checked wrappers
    playground       scaled dot-product attention by hand, for the Playground page
    position_view    each encoding's term in one query's scores, for the Playground
    saliency         gradient x input of each output token w.r.t. the source embeddings; rank correlation
    heads            every layer x head map of a Transformer, entropy and mean attention distance per head

May import: attn.config, attn.records, attn.data.
"""
