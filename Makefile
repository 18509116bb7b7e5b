# Two entry points for a fresh Debian 12 machine (see README):
#   make demo   installs dependencies, builds (Release) and picks the bundled real sample
#   make test   installs dependencies, builds and runs the whole test suite
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build demo test clean

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/rapid run --output demo-output

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

clean:
	rm -rf $(BUILD) demo-output
