# Two entry points for a fresh Debian 12 machine (see README):
#   make demo   installs dependencies, builds (Release) and picks the bundled real sample
#               (oneDNN backend: no libtorch)
#   make test   installs dependencies with libtorch (the torch backend and the tests), builds and
#               runs the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps deps-torch build demo test clean

deps:
	bash scripts/install-deps.sh

deps-torch:
	bash scripts/install-deps.sh --torch

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo: deps
	$(MAKE) build
	$(BUILD)/rapid run --output demo-output

test: deps-torch
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

clean:
	rm -rf $(BUILD) demo-output
