# libbigmodel-mpi (included by the Makefile): the Open MPI communicator of
# include/bigmodel/mpi.h in its own shared library, so that libbigmodel.so
# links no MPI. Built by `make` (all) when mpicc is found; `make check` runs
# its test under mpirun (check-mpi), or says why it cannot.

MPICC  ?= $(shell command -v mpicc 2>/dev/null)
MPIRUN ?= $(shell command -v mpirun 2>/dev/null)
MPI_SONAME := libbigmodel-mpi.so.$(VERSION_MAJOR)
MPI_SHLIB  := $(BUILD)/libbigmodel-mpi.so.$(VERSION)
MPI_LIBS   := $(MPI_SHLIB) $(BUILD)/$(MPI_SONAME) $(BUILD)/libbigmodel-mpi.so
MPI_CFLAGS := -std=c11 $(CPPFLAGS) $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude

.PHONY: mpi-lib check-mpi bench-dist

ifneq ($(MPICC),)
all: mpi-lib $(BUILD)/examples/ddp_fashion
mpi-lib: $(MPI_LIBS)
else
mpi-lib:
	@echo "mpi-lib: no mpicc on PATH (make deps installs openmpi-bin libopenmpi-dev)"
endif

$(BUILD)/obj/mpi/mpi_comm.o: lib/mpi/mpi_comm.c include/bigmodel/mpi.h \
	    $(wildcard include/bigmodel/*.h)
	@mkdir -p $(dir $@)
	$(MPICC) $(MPI_CFLAGS) -fPIC -fvisibility=hidden -DBGM_BUILDING_LIBRARY -c $< -o $@

$(MPI_SHLIB): $(BUILD)/obj/mpi/mpi_comm.o lib/mpi/bigmodel-mpi.map $(BUILD)/libbigmodel.so
	$(MPICC) -shared -Wl,-soname,$(MPI_SONAME) -Wl,--version-script=lib/mpi/bigmodel-mpi.map \
	    -Wl,--no-undefined $(LDFLAGS) -o $@ $< -L$(BUILD) -Wl,-rpath,'$$ORIGIN' -lbigmodel

$(BUILD)/$(MPI_SONAME): $(MPI_SHLIB)
	ln -sf $(notdir $(MPI_SHLIB)) $@

$(BUILD)/libbigmodel-mpi.so: $(BUILD)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $@

# The MPI example (docs/distributed.md).
$(BUILD)/examples/ddp_fashion: examples/ddp_fashion.c $(wildcard examples/*.h) $(MPI_LIBS)
	@mkdir -p $(dir $@)
	$(MPICC) $(MPI_CFLAGS) $< -o $@ -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel-mpi \
	    -lbigmodel -lm -lpthread

# The equivalence and mismatch runs of test/mpi/fit_mpi.c over 2 processes.
$(BUILD)/test/fit_mpi: test/mpi/fit_mpi.c test/dist_problem.c test/dist_problem.h \
	    $(MPI_LIBS)
	@mkdir -p $(dir $@)
	$(MPICC) $(MPI_CFLAGS) -Itest test/mpi/fit_mpi.c test/dist_problem.c -o $@ \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel-mpi -lbigmodel -lm

ifneq ($(MPICC),)
check-mpi: $(BUILD)/test/fit_mpi
	@sh test/mpi/check_mpi.sh "$(BUILD)/test/fit_mpi" "$(MPIRUN)"
else
check-mpi:
	@echo "check-mpi: SKIPPED: no mpicc on PATH (make deps installs openmpi-bin libopenmpi-dev)"
endif

# Not a test: the seed CNN's training throughput on 1 rank x 2 threads and on
# 2 ranks x 1 thread, and one all-reduce of its gradients (docs/performance.md);
# with one bucket of gradients and with buckets reduced during backward, and
# the same for a wide MLP, whose all-reduce weighs more. mpirun binds a lone
# rank to one core: the 2-thread run is unbound, or its threads share a core.
$(BUILD)/bench/bench_dist: test/mpi/bench_dist.c examples/seed_cnn.h $(MPI_LIBS)
	@mkdir -p $(dir $@)
	$(MPICC) $(MPI_CFLAGS) $< -o $@ -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel-mpi \
	    -lbigmodel -lm

BENCH_DIST_RUN = OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none \
	$(MPIRUN) --allow-run-as-root --oversubscribe

bench-dist: $(BUILD)/bench/bench_dist
	@$(BENCH_DIST_RUN) --bind-to none -np 1 $(BUILD)/bench/bench_dist -t 2 -b 64
	@$(BENCH_DIST_RUN) -np 2 $(BUILD)/bench/bench_dist -t 1 -b 32
	@$(BENCH_DIST_RUN) -np 2 $(BUILD)/bench/bench_dist -t 1 -b 32 -m mlp -s 30 -B 1048576
