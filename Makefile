# The two commands a newcomer needs are `make up` and `make test`; the rest are for developers.
JOBS ?= $(shell nproc)
BUILD ?= build
ISLA := $(BUILD)/isla
CMAKE_FLAGS := -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

.PHONY: deps build up test test-asan test-tsan sim bench fuzz format clean image

deps:
	@bash scripts/deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

up: build
	$(ISLA) up --pieces $${PIECES:-3}

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

test-asan: deps
	cmake -S . -B build-asan $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DISLA_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	# The simulation is single-threaded and 3x slower here: fewer seeds say as much.
	cd build-asan && ISLA_SIM_SEEDS=400 ISLA_NODE_SIM_SEEDS=400 ctest --output-on-failure -j $(JOBS) --timeout 900

test-tsan: deps
	cmake -S . -B build-tsan $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISLA_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS)
	# TSan is for the concurrent parts; the single-threaded simulation runs a token 80 seeds.
	cd build-tsan && ISLA_SIM_SEEDS=80 ISLA_NODE_SIM_SEEDS=80 ctest --output-on-failure -j $(JOBS) --timeout 900 -L 'unit|integration'

# More seeds of the whole-node simulation than `make test` runs: make sim SEEDS=50000
sim: build
	cd $(BUILD) && ISLA_NODE_SIM_SEEDS=$${SEEDS:-20000} ctest --output-on-failure -j $(JOBS) \
	  --timeout 3600 -R NodeSimulation

bench: build
	cmake --build $(BUILD) --target auth_cost swim_sim nats_queue_bench isla_queue_bench
	bash bench/gateway_vs_nginx.sh
	bash bench/gateway_tls_vs_nginx.sh
	bash bench/store_vs_etcd.sh
	$(BUILD)/bench/swim_sim
	bash bench/failure_detection.sh
	bash bench/saturation_forwarding.sh
	bash bench/queue_vs_nats.sh

# isla's OCI image (localhost/isla:latest, and build/image/isla-oci.tar) with podman, from
# local files only, checked by inspection (docs/kubernetes.md). Installs podman if missing.
image: build
	bash deploy/image/build.sh $(ISLA) $(BUILD)

fuzz: deps
	cmake -S . -B build-fuzz $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DISLA_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target fuzzers
	bash fuzz/run.sh build-fuzz $${FUZZ_SECONDS:-30}

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz
