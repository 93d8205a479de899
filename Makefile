# tgcrm — GNU Make build.
#
#   make            build build/tgcrm
#   make run        install deps, build, run the main job
#   make test       install deps, build, run every test (unit, ASan+UBSan, integration, lint)
#   make bench      benchmarks, one "bench <name> k=v ..." line each
#
# Everything third-party comes from Debian packages found with pkg-config
# (scripts/install-deps.sh installs them).

PKGS      := libmicrohttpd libcurl jansson sqlite3 libfyaml libpcre2-8 libcrypto libpq
CC        ?= cc
BUILD     ?= build

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wundef
HARDEN    := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
BASEFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -I$(BUILD)/gen \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
OPT       ?= -O2 -g
CFLAGS_ALL = $(BASEFLAGS) $(WARN) $(HARDEN) $(OPT) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
LDFLAGS   += -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)

SRC       := $(sort $(shell find src -name '*.c' ! -name main.c))
MIGR      := $(sort $(wildcard src/store/migrations/sqlite/*.sql))
OBJ       := $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o $(BUILD)/gen/schema_webhook.o
LIB       := $(BUILD)/libtgcrm.a
BIN       := $(BUILD)/tgcrm

UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INT_SRC   := $(sort $(wildcard tests/integration/test_*.c))
INT_BIN   := $(INT_SRC:tests/integration/%.c=$(BUILD)/itests/%)
TEST_HELPERS := $(sort $(wildcard tests/common/*.c))
TEST_CFLAGS = $(BASEFLAGS) -Itests -Wall -Wextra -Werror -Wno-missing-field-initializers \
              $(OPT) $(EXTRA_CFLAGS) $(shell pkg-config --cflags criterion)
TEST_LIBS   = $(shell pkg-config --libs criterion) $(LDLIBS)

.PHONY: all deps run test unit asan integration lint bench clean valgrind check-docs
all: $(BIN)

deps:
	@bash scripts/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/gen/migrations.c: $(MIGR) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	bash scripts/embed-sql.sh $(MIGR) > $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/gen/schema_webhook.c: docs/webhook-payload.schema.json scripts/embed-text.sh
	@mkdir -p $(dir $@)
	bash scripts/embed-text.sh schema_webhook $< > $@

$(BUILD)/gen/schema_webhook.o: $(BUILD)/gen/schema_webhook.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(TEST_HELPERS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_HELPERS) $(LIB) $(TEST_LIBS)

$(BUILD)/itests/%: tests/integration/%.c $(LIB) $(TEST_HELPERS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_HELPERS) $(LIB) $(TEST_LIBS)

# --- the two README commands -------------------------------------------------

run: deps
	@$(MAKE) --no-print-directory all
	bash scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory lint
	@echo "make test: all stages passed"

# --- test stages ---------------------------------------------------------------

unit: $(UNIT_BIN)
	@bash scripts/run-tests.sh unit $(UNIT_BIN)

# The unit tests again, built and run under AddressSanitizer + UBSan.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/tgcrm unit

integration: $(BIN) $(INT_BIN)
	@TGCRM_BIN=$(abspath $(BIN)) bash scripts/run-tests.sh integration $(INT_BIN)
	@bash tests/integration/run-shell-tests.sh $(abspath $(BIN))
	@bash tests/openapi/run.sh $(abspath $(BIN))
	@bash tests/fake_tg_npm/run.sh $(abspath $(BIN))
	@bash tests/webhook_npm/run.sh
	@bash tests/integration/valgrind.sh $(abspath $(BIN))
	@bash tests/integration/valgrind-sink.sh $(abspath $(BIN))

lint:
	@bash scripts/lint.sh

valgrind: $(BIN)
	@bash tests/integration/valgrind.sh $(abspath $(BIN))
	@bash tests/integration/valgrind-sink.sh $(abspath $(BIN))

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh $(abspath $(BIN))

clean:
	rm -rf build build-asan

-include $(OBJ:.o=.d) $(BUILD)/src/main.d
