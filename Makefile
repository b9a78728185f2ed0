# Top-level entry points. `make test` is the whole suite (README, .ci/run).
PYTHON ?= python3
KVER ?= $(shell ls /lib/modules 2>/dev/null | grep -- '-amd64$$' | sort -V | tail -n 1)
KERNELDIR ?= /lib/modules/$(KVER)/build

.PHONY: all deps build bpf module test test-unit test-bpf test-kernel test-packaging demo bench clean

all: build module

deps:
	scripts/install-deps.sh

build: deps bpf
	$(PYTHON) setup.py -q build_ext --inplace

# The modern_ebpf programs (falco/driver/falco_probe.bpf.o), CO-RE
bpf: deps
	$(MAKE) -C driver/bpf

module:
	$(MAKE) -C driver KERNELDIR=$(KERNELDIR)

test: build test-unit test-bpf test-kernel test-packaging

test-unit: build
	$(PYTHON) -m pytest -q tests/unit tests/integration

# The BPF programs natively on this kernel (BTF needed), in a throw-away
# mount namespace: kernel tests of the source and the e2e rules suite.
test-bpf: build
	scripts/bpf-test.sh

test-kernel: build module
	scripts/vm-test.sh

# Builds the .debs (lintian), installs them in a throw-away overlay of / and
# runs tests/packaging/ there, in the VM and in a chroot.
test-packaging: deps
	scripts/test-packaging.sh

demo: build module
	scripts/demo.sh

bench: build module
	$(PYTHON) bench/rules.py
	$(PYTHON) bench/replay.py
	$(PYTHON) bench/churn.py
	$(PYTHON) bench/hostile.py
	$(PYTHON) bench/outputs.py
	bench/kernel_overhead.sh
	$(PYTHON) bench/bpf_overhead.py
	scripts/vm-run.sh 'python3 bench/replay_live.py'
	bench/live_rates.sh

clean:
	$(MAKE) -C driver KERNELDIR=$(KERNELDIR) clean || true
	$(MAKE) -C driver/bpf clean || true
	rm -rf build *.egg-info falco/driver/_falco_ffi*.so falco/driver/_falco_ffi.c \
		falco/filter/_falco_re2*.so
