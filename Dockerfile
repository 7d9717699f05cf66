# Attention Lab: the dashboard in a container.
#   docker build -t attention-lab .
#   docker run -p 8501:8501 -v attention-lab-runs:/data attention-lab
# Runs live in the /data volume ($ATTN_HOME) and survive a new container.
# To open with results ready: docker run --rm -v attention-lab-runs:/data attention-lab python -m attn preload
#
# A Ray node with the same code (docs/ray.md): docker build --target ray -t attention-lab-ray .
#   worker:  docker run --network host -e RAY_HEAD=head:6379 attention-lab-ray
#   head:    docker run --network host attention-lab-ray ray start --head --port 6379 --ray-client-server-port 10001 --block
#   server:  docker run --network host -v attention-lab-runs:/data -e ATTN_EXECUTOR=ray -e ATTN_RAY_ADDRESS=head:6379 \
#              attention-lab-ray streamlit run dashboard.py --server.address 0.0.0.0
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ATTN_HOME=/data

# A C compiler for the fused kernels (attn/kernels/: additive attention and the GRU recurrence, built
# on first use); without one the app uses PyTorch's ops, about half as fast (README, Speed).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The app runs as a user of its own; it writes only to /data (the code stays owned by root).
RUN useradd --create-home --uid 1000 attn && mkdir /data && chown attn:attn /data
COPY . .
# Ray's worker processes import attn wherever the node starts them, not only from /app.
ENV PYTHONPATH=/app
USER attn
VOLUME ["/data"]


# A Ray node: the app's image plus Ray at the version requirements-dev.txt tests. Every node and the
# server must run the same Ray, Python and attn (a worker with other attn code refuses its runs).
FROM base AS ray
USER root
RUN pip install --no-cache-dir "$(grep -E '^ray[=<>]' requirements-dev.txt)"
USER attn
ENV RAY_HEAD=""
CMD ["sh", "-c", "exec ray start --address=\"$RAY_HEAD\" --block"]


# The dashboard (the default target: `docker build .` builds this one, without Ray).
FROM base AS app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "dashboard.py", "--server.address", "0.0.0.0"]
