# eschool — see README.md. `make` builds, `make check` tests, `make demo` shows.
VERSION := 0.1.0

CC ?= cc
PKG_CONFIG ?= pkg-config
PYTHON := /usr/bin/python3
BUILD := build

# Debian 12 packages: build, then tests.
DEPS_BUILD := gcc make pkg-config libpam0g-dev libsodium-dev libcurl4-openssl-dev libldap-dev \
	libsss-nss-idmap-dev libinih-dev libcrypt-dev passwd login util-linux \
	libcairo2-dev libpango1.0-dev fonts-dejavu-core
DEPS_TEST := libcmocka-dev python3 python3-pytest python3-aiosmtpd faketime openssl systemd \
	libpam-wrapper python3-pypamtest valgrind openssh-server openssh-client python3-pexpect \
	dnsmasq-base locales gettext slapd ldap-utils sssd-ldap sssd-tools libnss-sss libpam-sss \
	cracklib-runtime poppler-utils strace
DEPS_LINT := cppcheck clang-tidy
DEPS_FUZZ := clang
# slapd, SSSD: the directory tests' servers (installed without starting:
# tests/install-deps). libpam-sss puts pam_sss and pam_pwquality into
# Debian's common-* stacks and libnss-sss adds sss to nsswitch.conf, as on
# a lab workstation; cracklib-runtime is pam_pwquality's dictionary
# (a Recommends, which --no-install-recommends would leave out: every
# new password would then be refused).
# poppler-utils: pdftotext/pdftoppm read the credential slips back.
# (libcmocka-dev: the unit tests run while the package builds)
DEPS_PACKAGING := dpkg-dev debhelper lintian fakeroot rpm libcmocka-dev

PKGS := libsodium inih libcrypt libcurl ldap
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# The credential slips' PDF (helper/slips_pdf.c): cairo and pango for the
# helper and the test driver that draws slips, never libeschool.a's other
# users (the PAM module above all: glib aborts when memory runs out)
SLIPS_PKGS := pangocairo cairo
SLIPS_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(SLIPS_PKGS) 2>/dev/null)
SLIPS_LIBS = $(shell $(PKG_CONFIG) --libs $(SLIPS_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-missing-field-initializers
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
# each function its own section: the module's link drops what it does not
# call (--gc-sections: less to map at every pam_start)
SECTIONS := -ffunction-sections -fdata-sections
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(SECTIONS) $(CFLAGS) \
	-DESCHOOL_VERSION='"$(VERSION)"' -Ilib $(PKG_CFLAGS)
LDFLAGS_HARD := -Wl,-z,relro -Wl,-z,now -Wl,--as-needed

ifeq ($(SANITIZE),1)
ALL_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2,$(ALL_CFLAGS)) -O1 \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_HARD += -fsanitize=address,undefined
endif

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
HELPER_SRC := $(sort $(wildcard helper/*.c helper/mail/*.c))
# (the slips' renderer, the mail sender and the directory code are
# plugins of their own: eschool_slips.so, eschool_smtp.so and
# eschool_ldap.so, below)
DIRECTORY_OBJ := $(BUILD)/helper/directory_plugin.o $(BUILD)/helper/accounts_ldap.o \
	$(BUILD)/helper/backup_ldap.o
PLUGIN_OBJ := $(BUILD)/helper/slips_pdf.o $(BUILD)/helper/mail/smtp.o $(DIRECTORY_OBJ)
HELPER_OBJ := $(filter-out $(PLUGIN_OBJ),$(HELPER_SRC:%.c=$(BUILD)/%.o))
# helper/ includes its own headers from the top: "cli.h", "mail/outbox.h";
# lib/ and the module never see them (the arrows go down only)
$(HELPER_OBJ) $(DIRECTORY_OBJ): ALL_CFLAGS += -Ihelper
$(BUILD)/helper/slips_pdf.o: ALL_CFLAGS += $(SLIPS_CFLAGS)
$(BUILD)/helper/mail/smtp.o: ALL_CFLAGS += -Ihelper
# A plugin and the eschool that loads it must be built from the same
# headers: a digest of those they share, in both (checked at load)
PLUGIN_ABI := $(shell cat lib/es_config.h lib/es_err.h helper/plugin.h helper/mail/smtp.h \
	helper/slips_pdf.h helper/directory.h helper/accounts.h helper/shadowdb.h lib/es_ldap.h \
	lib/es_store.h lib/es_state.h lib/es_account.h lib/es_names.h lib/es_code.h \
	| sha256sum | cut -c1-16)
$(BUILD)/helper/mail/smtp.o $(BUILD)/helper/slips_pdf.o $(BUILD)/helper/plugin.o \
	$(BUILD)/helper/directory_plugin.o: ALL_CFLAGS += -DES_PLUGIN_ABI='"$(PLUGIN_ABI)"'
$(BUILD)/helper/plugin.o: ALL_CFLAGS += -DES_PLUGIN_DIR='"$(PKGLIBDIR)"'
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: ldap-schema pot po bench-load faults deps-fuzz uninstall check-packaging dist deb rpm deps-packaging fuzz all deps deps-test deps-lint deps-bench check unit integration demo lint bench \
	bench-smtp clean install valgrind

# `make install DESTDIR=... PREFIX=/usr` for packages; the units' ExecStart
# follows SBINDIR, the helper's built-in template_dir follows DATADIR.
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
# PAM's module directory: pam.pc's securedir when it says, else the
# multiarch one (Debian: /usr/lib/x86_64-linux-gnu/security)
PAMDIR ?= $(or $(shell $(PKG_CONFIG) --variable=securedir pam 2>/dev/null),$(PREFIX)/lib/$(shell $(CC) -print-multiarch)/security)
SYSTEMDUNITDIR ?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
PAMCONFIGDIR ?= $(DATADIR)/pam-configs
# the helper's plugin (the slips' renderer)
PKGLIBDIR ?= $(PREFIX)/lib/eschool
# where the helper and the module look for the shipped templates
$(BUILD)/lib/es_config.o: ALL_CFLAGS += -DES_TEMPLATE_DIR='"$(DATADIR)/eschool/templates"'

# the libsodium es_code.c loads (dlopen) to hash address codes: the soname
# of the library this build links the helper with
SODIUM_SONAME := $(shell objdump -p "$$($(CC) -print-file-name=libsodium.so)" 2>/dev/null \
	| awk '$$1 == "SONAME" { print $$2 }')
$(BUILD)/lib/es_code.o: ALL_CFLAGS += $(if $(SODIUM_SONAME),-DES_SODIUM_SONAME='"$(SODIUM_SONAME)"')

# the verdict's table, shared with the agreement test
$(BUILD)/tests/test_account: ALL_CFLAGS += -DES_ACCOUNT_CASES='"$(CURDIR)/tests/cases/account.txt"'

# test drivers (tests/*.c): PAM programs the integration tests run
TEST_TOOLS := $(patsubst tests/%.c,$(BUILD)/%,$(wildcard tests/*.c))

all: $(BUILD)/eschool $(BUILD)/eschool_slips.so $(BUILD)/eschool_smtp.so $(BUILD)/eschool_ldap.so \
	$(BUILD)/pam_eschool.so \
	$(BUILD)/pam_eschool_ldap.so $(TEST_TOOLS) \
	$(BUILD)/pam_floor.so

$(BUILD)/%.o: %.c $(wildcard lib/*.h lib/*.inc) $(wildcard helper/*.h helper/mail/*.h pam_eschool/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libeschool.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/eschool: $(HELPER_OBJ) $(BUILD)/libeschool.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -o $@ $(HELPER_OBJ) $(BUILD)/libeschool.a \
		$(PKG_LIBS) -lresolv -lm -lpthread

# The slips' renderer: cairo, pango and glib loaded (dlopen, helper/slips.c)
# by the commands that draw slips only, not at every eschool command's
# start (9 ms of its 25 here). One symbol exported.
$(BUILD)/eschool_slips.so: $(BUILD)/helper/slips_pdf.o $(BUILD)/libeschool.a helper/slips_pdf.map
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -shared -Wl,--no-undefined -Wl,--gc-sections \
		-Wl,--version-script=helper/slips_pdf.map -o $@ $(BUILD)/helper/slips_pdf.o \
		$(BUILD)/libeschool.a $(SLIPS_LIBS) $(PKG_LIBS) -lm -lpthread

# The mail sender: smtp.c and libcurl, loaded (dlopen, helper/mail/smtp_load.c)
# by the commands that send mail only: libcurl's 30 libraries cost every
# other command's start 5.5 ms and 3.2 MB here. One symbol exported.
$(BUILD)/eschool_smtp.so: $(BUILD)/helper/mail/smtp.o $(BUILD)/libeschool.a helper/mail/smtp.map
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -shared -Wl,--no-undefined -Wl,--gc-sections \
		-Wl,--version-script=helper/mail/smtp.map -o $@ $(BUILD)/helper/mail/smtp.o \
		$(BUILD)/libeschool.a $(PKG_LIBS) -lm -lpthread

# The directory code (accounts.backend = ldap: helper/directory.h): libldap,
# SASL, GnuTLS and what they bring, loaded (dlopen, helper/directory_load.c)
# by the commands that connect to the directory only: 2.7 MB of every
# other eschool process here. One symbol exported.
$(BUILD)/eschool_ldap.so: $(DIRECTORY_OBJ) $(BUILD)/helper/strset.o $(BUILD)/libeschool.a \
		helper/directory.map
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -shared -Wl,--no-undefined -Wl,--gc-sections \
		-Wl,--version-script=helper/directory.map -o $@ $(DIRECTORY_OBJ) \
		$(BUILD)/helper/strset.o $(BUILD)/libeschool.a $(PKG_LIBS) -lm -lpthread

# The module: lib/ code it needs (not libcurl), only pam_sm_* exported.
# libpam loads the module and what it needs at every pam_start and unloads
# it all at pam_end: each shared library costs about 120 us a login here
# (mapping, relocating, unmapping), so inih (6 KB, made to be embedded) is
# linked in when its archive is there, and libsodium is not linked at all
# (lib/es_bytes.c does its wiping, hex, base64 and randomness on libc): the
# keyed hash of address codes loads it for that call alone (dlopen, below),
# shared, so a crypto library's fixes reach the module without a rebuild.
INIH_A := $(shell $(CC) -print-file-name=libinih.a)
MODULE_INIH := $(if $(filter /%,$(INIH_A)),$(INIH_A),$$($(PKG_CONFIG) --libs inih))
$(BUILD)/pam_eschool.so: $(BUILD)/pam_eschool/pam_eschool.o $(BUILD)/pam_eschool/directory.o \
		$(BUILD)/libeschool.a pam_eschool/pam_eschool.map
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -shared -Wl,--no-undefined -Wl,--gc-sections \
		-Wl,--version-script=pam_eschool/pam_eschool.map -o $@ \
		$(BUILD)/pam_eschool/pam_eschool.o $(BUILD)/pam_eschool/directory.o $(BUILD)/libeschool.a \
		$(MODULE_INIH) -lpam

# The module's directory store (lib/es_store_ldap.h), loaded by the module
# only when accounts.backend = ldap: libldap and GnuTLS stay out of every
# other login. One symbol exported.
$(BUILD)/pam_eschool_ldap.so: $(BUILD)/pam_eschool/ldap_plugin.o $(BUILD)/libeschool.a \
		pam_eschool/ldap_plugin.map
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -shared -Wl,--no-undefined \
		-Wl,--version-script=pam_eschool/ldap_plugin.map -o $@ $< $(BUILD)/libeschool.a \
		$$($(PKG_CONFIG) --libs inih ldap)

# bench/pam's yardstick: a module that only reads the two files
$(BUILD)/pam_floor.so: bench/pam_floor.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -shared -fvisibility=hidden -o $@ $< -lpam

# the directory store's compare-and-set, driven by test_directory.py
$(BUILD)/storecas: tests/storecas.c $(BUILD)/libeschool.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -o $@ $< $(BUILD)/libeschool.a $(PKG_LIBS) -lm -lpthread

# the slips' renderer on its own, driven by test_slips_pdf.py
$(BUILD)/slipsdemo: tests/slipsdemo.c $(BUILD)/helper/slips_pdf.o $(BUILD)/libeschool.a
	$(CC) $(ALL_CFLAGS) -Ihelper $(LDFLAGS_HARD) -o $@ $< $(BUILD)/helper/slips_pdf.o \
		$(BUILD)/libeschool.a $(SLIPS_LIBS) $(PKG_LIBS) -lm -lpthread

# PAM transactions in a loop (tests/pamloop.c): valgrind test, bench/pam;
# and the other drivers beside it
$(BUILD)/%: tests/%.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_HARD) -o $@ $< -lpam

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libeschool.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS_HARD) -o $@ $< \
		$(BUILD)/libeschool.a $(PKG_LIBS) $$($(PKG_CONFIG) --libs cmocka) -lm -lpthread

# es_code.c with a libsodium that is not there: what a login and the
# helper do when the code's hash cannot be made (tests/unit/test_code_nosodium)
$(BUILD)/testobj/es_code_nosodium.o: lib/es_code.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DES_SODIUM_SONAME='"libsodium-not-installed.so.0"' -c $< -o $@
$(BUILD)/tests/test_code_nosodium: tests/unit/test_code_nosodium.c \
		$(BUILD)/testobj/es_code_nosodium.o $(BUILD)/libeschool.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS_HARD) -o $@ $< \
		$(BUILD)/testobj/es_code_nosodium.o $(BUILD)/libeschool.a $(PKG_LIBS) \
		$$($(PKG_CONFIG) --libs cmocka) -lm -lpthread

# Messages (lib/es_msg.h): the English text is the key; po/fr.po has the
# French; `make po` extracts the texts from the code (xgettext, the
# functions that take them as keywords), merges them into po/fr.po and
# compiles it into lib/es_msg_fr.inc. tests/integration/test_messages.py
# checks that every text has its French and the .inc is up to date.
MSG_SRC = $(sort $(wildcard lib/*.c helper/*.c helper/mail/*.c pam_eschool/*.c))
XGETTEXT_FLAGS := --from-code=UTF-8 --language=C --no-wrap --add-location=file \
	--package-name=eschool --package-version=$(VERSION) -k --keyword=_ --keyword=N_ \
	--keyword=tr:2 --keyword=es_msg:2 --keyword=ui_warn:1 --keyword=ui_info:2 --keyword=es_err_set:3 \
	--keyword=es_err_errno:4 --keyword=es_err_prefix:2 --keyword=row_error:3 \
	--keyword=im_warn:2 --keyword=usage_error:2 --flag=ui_warn:1:c-format --flag=ui_info:2:c-format \
	--flag=es_err_set:3:c-format --flag=es_err_errno:4:c-format \
	--flag=es_err_prefix:2:c-format --flag=row_error:3:c-format --flag=im_warn:2:c-format --flag=usage_error:2:c-format

POT_OUT ?= po/eschool.pot
pot:
	xgettext $(XGETTEXT_FLAGS) -o $(POT_OUT) $(MSG_SRC)

# packaging/ldap/eschool.schema and eschool.ldif from tools/ldapschema.py's
# table (tests/integration/test_directory.py checks they are up to date)
ldap-schema:
	$(PYTHON) tools/ldapschema.py packaging/ldap

po: pot
	msgmerge --quiet --update --backup=none --no-wrap --no-fuzzy-matching po/fr.po po/eschool.pot
	msgattrib --no-obsolete --no-wrap -o po/fr.po po/fr.po
	$(PYTHON) tools/po2c.py po/fr.po > lib/es_msg_fr.inc

# Installs only what is missing, so that a second run costs nothing.
deps:
	@./tests/install-deps $(DEPS_BUILD)
deps-test:
	@./tests/install-deps $(DEPS_BUILD) $(DEPS_TEST)
deps-lint:
	@./tests/install-deps $(DEPS_LINT)
deps-fuzz:
	@./tests/install-deps $(DEPS_BUILD) $(DEPS_FUZZ)
deps-packaging:
	@./tests/install-deps $(DEPS_BUILD) $(DEPS_PACKAGING)

unit: all $(UNIT_BIN)
integration: all

# Last line: "N passed, N failed".
check: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@ESCHOOL_BUILD=$(BUILD) $(PYTHON) tests/run-checks $(UNIT_BIN)

# The module's robustness campaign: 1,000 PAM transactions under valgrind.
valgrind: deps-test
	@$(MAKE) --no-print-directory all
	@ESCHOOL_BUILD=$(BUILD) ESCHOOL_PAM_CYCLES=1000 $(PYTHON) -m pytest -q \
		tests/integration/test_pam.py -k valgrind

# Crash campaigns (tests/faults): kill -9 at random moments during import
# and queue run, then check that nothing is lost or doubled; then the
# full-disk and limits tests.
# FAULT_KILLS=N kills per campaign, FAULT_ROWS=N roster rows (CI runs a
# short form); figures in $(BUILD)/faults-summary.txt.
# The directory import's campaigns (test_directory_crash.py: a dozen LDAP
# operations an account) take FAULT_KILLS/FAULT_ROWS when given on the
# command line, else 20 kills of a 300-row import.
FAULT_KILLS ?= 50
FAULT_ROWS ?= 1000
FAULT_DIR_KILLS ?= $(if $(filter command line,$(origin FAULT_KILLS)),$(FAULT_KILLS),20)
FAULT_DIR_ROWS ?= $(if $(filter command line,$(origin FAULT_ROWS)),$(FAULT_ROWS),300)
faults: deps-test
	@$(MAKE) --no-print-directory all
	@ESCHOOL_BUILD=$(BUILD) ESCHOOL_FAULT_KILLS=$(FAULT_KILLS) ESCHOOL_FAULT_ROWS=$(FAULT_ROWS) \
		ESCHOOL_FAULT_DIR_KILLS=$(FAULT_DIR_KILLS) ESCHOOL_FAULT_DIR_ROWS=$(FAULT_DIR_ROWS) \
		$(PYTHON) -m pytest -q \
		-p no:cacheprovider tests/faults
	@# the full-disk and limits tests (also part of make check)
	@ESCHOOL_BUILD=$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider \
		tests/integration/test_limits.py

# the demo's first login goes through the real libpam with pypamtest
demo: deps
	@./tests/install-deps python3 python3-pypamtest
	@$(MAKE) --no-print-directory all
	@./tests/demo

lint: deps-lint
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --std=c11 -D_GNU_SOURCE -Ilib -Ihelper --suppress=missingIncludeSystem \
		lib helper pam_eschool
	@# one file per run: clang-tidy 14's analyzer mixes up va_list state
	@# across files given together (false "uninitialized va_list")
	@fail=0; for f in $(LIB_SRC) $(HELPER_SRC) pam_eschool/pam_eschool.c pam_eschool/directory.c pam_eschool/ldap_plugin.c; do \
		clang-tidy --quiet $$f -- -std=c11 -D_GNU_SOURCE -Ilib -Ihelper \
			-DESCHOOL_VERSION='"$(VERSION)"' -DES_PLUGIN_ABI='"$(PLUGIN_ABI)"' $(PKG_CFLAGS) $(SLIPS_CFLAGS) || fail=1; \
	done; test $$fail = 0 && echo "lint: no findings"

# smtp-sink/smtp-source for bench/smtp: postfix installed unconfigured
# (no main.cf, so nothing starts), and never in place of another mail server;
# mkpasswd (Debian's whois) for bench/ldap's admin script; GNU time for
# bench/memory's exact peaks
deps-bench:
	@if ! dpkg-query -W -f='$${Status}' postfix 2>/dev/null | grep -q 'ok installed'; then \
		if apt-get install -s -q --no-install-recommends postfix 2>/dev/null | grep -q '^Remv'; then \
			echo "eschool: installing postfix would remove another mail server; not done" >&2; exit 1; fi; \
		if [ "$$(id -u)" -eq 0 ]; then echo "postfix postfix/main_mailer_type select No configuration" \
			| debconf-set-selections; fi; \
	fi
	@./tests/install-deps postfix whois time

bench: deps-test deps-bench all
	@./bench/import
	@ESCHOOL_BUILD=$(BUILD) ./bench/smtp
	@ESCHOOL_BUILD=$(BUILD) ./bench/pam
	@ESCHOOL_BUILD=$(BUILD) ./bench/load
	@ESCHOOL_BUILD=$(BUILD) ./bench/daily
	@ESCHOOL_BUILD=$(BUILD) ./bench/ldap
	@ESCHOOL_BUILD=$(BUILD) ./bench/memory --mode both

# 10,000 accounts, 10,000 mails, 200 concurrent sessions (8 to 10 minutes)
bench-load: deps-test deps-bench all
	@ESCHOOL_BUILD=$(BUILD) ./bench/load

bench-smtp: deps deps-bench all
	@ESCHOOL_BUILD=$(BUILD) ./bench/smtp

# What install puts where (uninstall removes exactly these).
TEMPLATES := $(sort $(wildcard conf/templates/*/*))
UNITS := $(sort $(wildcard packaging/systemd/*))
LDAP_FILES := packaging/ldap/eschool.schema packaging/ldap/eschool.ldif \
	packaging/ldap/acl.ldif packaging/ldap/dit.ldif
INSTALLED := $(SBINDIR)/eschool $(PKGLIBDIR)/eschool_slips.so $(PKGLIBDIR)/eschool_smtp.so \
	$(PKGLIBDIR)/eschool_ldap.so \
	$(PAMDIR)/pam_eschool.so $(PAMDIR)/pam_eschool_ldap.so \
	$(PAMCONFIGDIR)/eschool \
	$(MANDIR)/man8/eschool.8 $(MANDIR)/man8/pam_eschool.8 $(MANDIR)/man5/eschool.conf.5 \
	$(TEMPLATES:conf/templates/%=$(DATADIR)/eschool/templates/%) \
	$(LDAP_FILES:packaging/ldap/%=$(DATADIR)/eschool/ldap/%) \
	$(UNITS:packaging/systemd/%=$(SYSTEMDUNITDIR)/%)

install: all
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PAMDIR) $(DESTDIR)$(PAMCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/eschool $(DESTDIR)$(PKGLIBDIR)
	install -m 0755 $(BUILD)/eschool $(DESTDIR)$(SBINDIR)/eschool
	install -m 0644 $(BUILD)/eschool_slips.so $(DESTDIR)$(PKGLIBDIR)/eschool_slips.so
	install -m 0644 $(BUILD)/eschool_smtp.so $(DESTDIR)$(PKGLIBDIR)/eschool_smtp.so
	install -m 0644 $(BUILD)/eschool_ldap.so $(DESTDIR)$(PKGLIBDIR)/eschool_ldap.so
	install -m 0644 $(BUILD)/pam_eschool.so $(DESTDIR)$(PAMDIR)/pam_eschool.so
	install -m 0644 $(BUILD)/pam_eschool_ldap.so $(DESTDIR)$(PAMDIR)/pam_eschool_ldap.so
	install -m 0644 packaging/pam-configs/eschool $(DESTDIR)$(PAMCONFIGDIR)/eschool
	install -m 0644 man/eschool.8 man/pam_eschool.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/eschool.conf.5 $(DESTDIR)$(MANDIR)/man5/
	for t in $(TEMPLATES); do \
		install -D -m 0644 $$t $(DESTDIR)$(DATADIR)/eschool/templates/$${t#conf/templates/}; \
	done
	@# the directory's schema, access rules and entries (README: "A lab of many machines")
	install -d -m 0755 $(DESTDIR)$(DATADIR)/eschool/ldap
	install -m 0644 $(LDAP_FILES) $(DESTDIR)$(DATADIR)/eschool/ldap/
	for u in $(UNITS); do \
		sed 's#/usr/sbin/eschool#$(SBINDIR)/eschool#' $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; \
	done
	@# the sample config never replaces the school's
	test -e $(DESTDIR)$(SYSCONFDIR)/eschool/eschool.conf || \
		install -m 0600 conf/eschool.conf $(DESTDIR)$(SYSCONFDIR)/eschool/eschool.conf

# The release tarball: the files git tracks, as they are in the working tree
# (a stash commit when something is changed, else HEAD), under eschool-VERSION/.
dist:
	ref=$$(git stash create); git archive --format=tar.gz --prefix=eschool-$(VERSION)/ \
		-o eschool-$(VERSION).tar.gz $${ref:-HEAD}
	@echo "eschool-$(VERSION).tar.gz"

# libFuzzer harnesses (tests/fuzz/fuzz_*.c), each built with lib/ under
# ASan + UBSan; `make fuzz FUZZ_SECONDS=N` runs each for N seconds on its
# seed corpus (tests/fuzz/corpus/NAME) and what it found before
# ($(BUILD)/fuzz/corpus-NAME). A crash stops it, the input saved beside.
FUZZ_SECONDS ?= 60
FUZZERS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Ilib -Itests/fuzz
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB_SRC) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_SRC) $(PKG_LIBS) -lm -lpthread
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory $(FUZZERS:%=$(BUILD)/fuzz/%)
	@set -e; for f in $(FUZZERS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$f; \
		echo "== $$f ($(FUZZ_SECONDS) s)"; \
		$(BUILD)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$f- $(BUILD)/fuzz/corpus-$$f \
			tests/fuzz/corpus/$${f#fuzz_} 2>&1 | \
			grep -E "^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY)"; \
	done; \
	if ls $(BUILD)/fuzz/*-crash-* $(BUILD)/fuzz/*-leak-* $(BUILD)/fuzz/*-timeout-* \
		$(BUILD)/fuzz/*-oom-* >/dev/null 2>&1; then \
		echo "fuzz: findings in $(BUILD)/fuzz/ (reproduce: $(BUILD)/fuzz/fuzz_NAME FILE)"; exit 1; \
	fi; echo "fuzz: no findings"

# Debian packages (libpam-eschool, eschool) from the release tarball, in
# $(BUILD)/deb; lintian must report no error.
# The build's own packages are installed first (deps-packaging); lintian runs
# when it is there (deps-packaging installs it; a machine without it still
# gets its packages).
deb: deps-packaging dist
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb
	tar -xzf eschool-$(VERSION).tar.gz -C $(BUILD)/deb
	cp -R packaging/debian $(BUILD)/deb/eschool-$(VERSION)/debian
	cd $(BUILD)/deb/eschool-$(VERSION) && dpkg-buildpackage -us -uc -b
	@if command -v lintian >/dev/null; then \
		lintian --fail-on error $(BUILD)/deb/eschool_$(VERSION)_*.changes; \
	else echo "eschool: lintian is not installed: the packages were not checked" >&2; fi
	@ls $(BUILD)/deb/*.deb

# RPMs (eschool, pam_eschool) with Debian's rpmbuild (--nodeps: Fedora's
# -devel packages are not here), in $(BUILD)/rpm.
rpm: dist
	rm -rf $(BUILD)/rpm && mkdir -p $(BUILD)/rpm
	rpmbuild -bb --nodeps --define "_topdir $(abspath $(BUILD))/rpm" \
		--define "_sourcedir $(CURDIR)" packaging/rpm/eschool.spec

# Packaging checks: install/uninstall, dist, the packages installed in a
# throwaway root (tests/packaging).
check-packaging: all deps-packaging
	@$(PYTHON) -m pytest -q -p no:cacheprovider tests/packaging

# Removes what install put there and nothing else: the config only when it
# is still the sample, then the directories left empty (never above DESTDIR).
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	if cmp -s conf/eschool.conf $(DESTDIR)$(SYSCONFDIR)/eschool/eschool.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/eschool/eschool.conf; fi
	for d in $(sort $(dir $(addprefix $(DESTDIR),$(INSTALLED))) \
			$(DESTDIR)$(SYSCONFDIR)/eschool/); do \
		d=$${d%/}; \
		while [ -n "$$d" ] && [ "$$d" != "$(DESTDIR)" ] && rmdir "$$d" 2>/dev/null; do \
			d=$${d%/*}; \
		done; \
	done

clean:
	rm -rf $(BUILD)
