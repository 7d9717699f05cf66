"""attn.viz.matrices: masks and the Playground's editable matrices."""
import numpy as np
import pytest

from attn.viz import matrices


def test_custom_mask_defaults_to_all_allowed_and_unknown_kinds_name_the_valid_ones():
    assert matrices.playground_mask("custom", 2, 3).tolist() == [[True] * 3] * 2
    with pytest.raises(ValueError, match="none, causal, custom, got 'diagonal'"):
        matrices.playground_mask("diagonal", 2, 2)


def test_a_matrix_goes_to_a_labelled_frame_and_back_unchanged():
    matrix = np.arange(6.0).reshape(2, 3)
    frame = matrices.matrix_frame(matrix, "q", "d")
    assert frame.index.tolist() == ["q1", "q2"] and frame.columns.tolist() == ["d1", "d2", "d3"]
    back, emptied = matrices.editor_matrix(frame)
    assert back.tolist() == matrix.tolist() and emptied == 0
    assert matrices.shape_text(matrix) == "(2, 3)"
