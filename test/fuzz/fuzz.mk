# Fuzz targets of the file parsers (included by the Makefile): `make fuzz`
# builds test/fuzz/fuzz_*.c with clang's libFuzzer, AddressSanitizer and
# UBSan, the parser sources compiled in (not the .so), and runs each for
# FUZZ_SECONDS starting from the seed corpus in test/fuzz/corpus/<name>/.
# New inputs go to $(BUILD)/fuzz/corpus-<name>, crashes to $(BUILD)/fuzz/.
# Fails when any target crashes, leaks or trips a sanitizer.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_NAMES   := idx cifar csv npy bgm safetensors model json
FUZZ_LIB_SRCS := lib/core/alloc.c lib/core/error.c lib/core/rng.c lib/core/tensor.c \
                 lib/core/version.c \
                 lib/data/dataset.c lib/data/fileio.c lib/data/idx.c lib/data/cifar.c \
                 lib/data/csv.c lib/data/npy.c $(sort $(wildcard lib/io/*.c))
FUZZ_CFLAGS  := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -D_POSIX_C_SOURCE=200809L \
                -DBGM_BUILDING_LIBRARY -Iinclude -Ilib

$(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_LIB_SRCS) $(wildcard test/fuzz/*.h lib/core/*.h lib/data/*.h lib/io/*.h include/bigmodel/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_LIB_SRCS) -o $@ -lz -lm

fuzz: $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
	@sh test/fuzz/run.sh "$(FUZZ_DIR)" "$(FUZZ_SECONDS)" $(FUZZ_NAMES)

FUZZ_MODEL_SRCS := $(sort $(wildcard lib/*/*.c))
FUZZ_BLAS_LIBS  := $(shell pkg-config --libs openblas 2>/dev/null || echo -lblas)

# The model reader and the JSON configs need the whole library (layers, ops,
# kernels, optimizers, metrics) and a CBLAS.
$(FUZZ_DIR)/fuzz_model $(FUZZ_DIR)/fuzz_json: $(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_MODEL_SRCS) $(wildcard test/fuzz/*.h lib/*/*.h include/*.h include/bigmodel/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags openblas 2>/dev/null) $< \
	    $(FUZZ_MODEL_SRCS) -o $@ $(FUZZ_BLAS_LIBS) -lz -lm -lpthread -ldl
