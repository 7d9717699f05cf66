# Attention Lab: the dashboard in a container.
#   docker build -t attention-lab .
#   docker run -p 8501:8501 -v attention-lab-runs:/data attention-lab
# Runs live in the /data volume ($ATTN_HOME) and survive a new container.
# To open with results ready: docker run --rm -v attention-lab-runs:/data attention-lab python -m attn preload
FROM python:3.11-slim

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
USER attn
VOLUME ["/data"]

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "dashboard.py", "--server.address", "0.0.0.0"]
