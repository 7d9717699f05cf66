"""One small padded batch (vocabularies of 15 source and 13 target words) for the model-level tests."""
import torch

from attn.data.text import BOS_ID, EOS_ID, PAD_ID


def padded_batch():
    """Three sentences of 5, 3 and 1 source words padded to 5; targets of 4, 2 and 3 words plus </s>.

    Returns src (B, S), src_len (B,), tgt_in (B, T) starting with <s>, tgt_out (B, T) ending with </s>.
    """
    src = torch.tensor([[5, 6, 7, 8, 9], [9, 10, 11, PAD_ID, PAD_ID], [4, PAD_ID, PAD_ID, PAD_ID, PAD_ID]])
    src_len = torch.tensor([5, 3, 1])
    tgt_in = torch.tensor([[BOS_ID, 4, 5, 6, 7], [BOS_ID, 7, 8, PAD_ID, PAD_ID], [BOS_ID, 9, 10, 11, PAD_ID]])
    tgt_out = torch.tensor([[4, 5, 6, 7, EOS_ID], [7, 8, EOS_ID, PAD_ID, PAD_ID], [9, 10, 11, EOS_ID, PAD_ID]])
    return src, src_len, tgt_in, tgt_out
