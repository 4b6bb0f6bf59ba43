# Quarry - one GNU Makefile for every binary, the local stack and the tests.
#
#   make            build every binary into build/
#   make deps       install Debian packages (when root and missing) and fetch the Kafka jars
#   make up         start the local stack (PostgreSQL, Kafka, emulator, intake, consumer)
#   make demo       start the stack if needed and answer a few questions
#   make down       stop exactly what `make up` started
#   make test       unit tests + end-to-end tests on a private stack, under ASan/UBSan
#   make valgrind   unit tests under valgrind (leak check)
#   make bench      benchmarks (figures in docs/benchmarks.md)

SHELL := /bin/bash
.DEFAULT_GOAL := all
PKGS := rdkafka libcurl jansson libpq libmicrohttpd libcrypto

# SAN=1 builds with AddressSanitizer + UBSan into build/san (used by `make test`).
ifeq ($(SAN),1)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT := -O1
else
BUILD ?= build
SAN_FLAGS :=
OPT := -O2
endif

HAVE_PKGS := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && echo yes)

CC ?= cc
CFLAGS ?= $(OPT) -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
          -pthread -Ilib $(SAN_FLAGS)
ifeq ($(HAVE_PKGS),yes)
CFLAGS += $(shell pkg-config --cflags $(PKGS))
LDLIBS += $(shell pkg-config --libs $(PKGS))
endif
LDFLAGS += -pthread $(SAN_FLAGS)
LDLIBS += -lm

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A := $(BUILD)/libquarry.a

BINS := $(BUILD)/quarry-intake $(BUILD)/quarry-consumer $(BUILD)/quarry-emulator $(BUILD)/quarry
# Small programs for tests and operators: tools/NAME.c -> $(BUILD)/tools/NAME
TOOLS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps up down demo test unit unit-bins valgrind bench clean status

deps:
	@scripts/deps.sh

ifneq ($(HAVE_PKGS),yes)
# Development packages are missing: install them, then run the same goal again with
# a fresh make that can see them through pkg-config.
all up demo test unit unit-bins valgrind bench:
	@echo "development packages missing; running scripts/deps.sh first" >&2
	@scripts/deps.sh
	@$(MAKE) --no-print-directory $@
else

all: $(BINS) $(TOOLS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

define binary
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(2)/*.c)) $(LIB_A)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(eval $(call binary,quarry-intake,producer))
$(eval $(call binary,quarry-consumer,consumer))
$(eval $(call binary,quarry-emulator,emulator))
$(eval $(call binary,quarry,cli))

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

up: all
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

status:
	@scripts/stack.sh status

demo: all
	@scripts/stack.sh up
	@scripts/demo.sh

# The test build is sanitized and lives in build/san; the stack it starts is private
# (.run-test, its own ports) so it never touches a stack started with `make up`.
test:
	@$(MAKE) --no-print-directory SAN=1 all unit-bins
	@tests/run.sh build/san

unit-bins: $(UNIT_BINS)

unit:
	@$(MAKE) --no-print-directory SAN=1 unit-bins
	@tests/run.sh build/san unit

valgrind:
	@$(MAKE) --no-print-directory unit-bins
	@tests/valgrind.sh build

bench: all
	@bench/run.sh

endif

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
