"""The rule for tests that need the compiled C kernels."""
import os

import pytest

from attn.nn import fused


def require_kernels() -> None:
    """Skip without the compiled kernels, saying why -- except in CI (CI=true, as .ci/run sets it), where
    a missing compiler or a failed build fails: users run the kernels, so CI must build them."""
    if fused.available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI cannot build what users run: the C kernels are not available "
                    f"({fused.build_error}); install a C compiler (cc, gcc or clang) in CI", pytrace=False)
    pytest.skip(f"no fused kernels on this machine: {fused.build_error}")
