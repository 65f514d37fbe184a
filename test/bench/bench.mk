# Benchmarks (included by the Makefile): `make bench` trains and runs the seed
# CNN and an MLP with libbigmodel and, when $(PYTHON) can import torch, the same
# models in PyTorch, each workload in a process of its own, and prints one
# table of throughput, latency, peak RSS and ratios. Never part of `make check`.
# BENCH_THREADS (2) threads for both sides; BENCH_SECONDS (3) timed per workload.

BENCH_THREADS ?= 2
BENCH_SECONDS ?= 3

$(BUILD)/bench/bench_models: test/bench/bench_models.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude $< -o $@ \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel -lm

bench: $(BUILD)/bench/bench_models
	@BENCH_THREADS=$(BENCH_THREADS) BENCH_SECONDS=$(BENCH_SECONDS) \
	    sh test/bench/run.sh "$(BUILD)/bench/bench_models" "$(PYTHON)"
	@BENCH_THREADS=$(BENCH_THREADS) BENCH_SECONDS=$(BENCH_SECONDS) \
	    sh test/bench/bench_text.sh "$(BUILD)" "$(PYTHON)"
	@BENCH_THREADS=$(BENCH_THREADS) BENCH_SECONDS=$(BENCH_SECONDS) \
	    sh test/bench/bench_gpt.sh "$(BUILD)" "$(PYTHON)"

# Own SGEMM kernels against BLAS per shape (one thread), linked statically
# for the internal entry points: `make bench-gemm-shapes`.
$(BUILD)/bench/bench_gemm_shapes: test/bench/bench_gemm_shapes.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib $(BLAS_CFLAGS) \
	    $< -o $@ $(STLIB) $(LIBS)

bench-gemm-shapes: $(BUILD)/bench/bench_gemm_shapes
	@env -u OPENBLAS_CORETYPE $(BUILD)/bench/bench_gemm_shapes
