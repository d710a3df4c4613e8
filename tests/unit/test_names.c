/* Usernames and addresses eschool accepts, ASCII folding, and usernames
 * derived from people's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "es_names.h"

static void test_valid_username(void **state)
{
	static const char *const good[] = {
		"alice", "_svc", "a", "j-dupre", "edupre2", "x_y-z", "host$",
		"abcdefghijklmnopqrstuvwxyzabcdef", /* 32 */
	};
	static const char *const bad[] = {
		"", "Alice", "1alice", "-alice", "a.b", "a b", "../x", "al/ice", "é", "a$b",
		"$", "abcdefghijklmnopqrstuvwxyzabcdefg", /* 33 */ "a\nb", "root:x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(es_valid_username(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(es_valid_username(bad[i]));
	assert_false(es_valid_username(NULL)); /* es_state hands it what it is given */
}

static void test_valid_groupname(void **state)
{
	static const char *const good[] = {
		"students", "_svc", "g", "lab-2", "x_y-z",
		"abcdefghijklmnopqrstuvwxyzabcdef", /* 32 */
	};
	static const char *const bad[] = {
		"", "Students", "1a", "-a", "a.b", "a b", "lab$", "$", "a$b", "é",
		"abcdefghijklmnopqrstuvwxyzabcdefg", /* 33 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(es_valid_groupname(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(es_valid_groupname(bad[i]));
}

/* names from a directory: case, dots and a leading digit are fine */
static void test_valid_existing_name(void **state)
{
	static const char *const good[] = {
		"root", "Domain.Admins", "1abc", "_x", "a-b", "host$", "a.", ".a",
		"abcdefghijklmnopqrstuvwxyzabcdef", /* 32 */
	};
	static const char *const bad[] = {
		"", "-x", ".", "..", "$", "a$b", "a b", "a/b", "a:b", "é", "a\nb",
		"abcdefghijklmnopqrstuvwxyzabcdefg", /* 33 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(es_valid_existing_name(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(es_valid_existing_name(bad[i]));
}

static void test_valid_email(void **state)
{
	static const char *const good[] = {
		"alice@school.example", "a.b+tag@sub.school.fr", "o'brien@x.org",
		"x@a-b.example", "UPPER@School.Example",
	};
	char long_label[100], too_long[300];
	static const char *const bad[] = {
		"", "alice", "@school.fr", "alice@", "a@b", ".a@x.fr", "a.@x.fr", "a..b@x.fr",
		"a b@x.fr", "a@x .fr", "a\r\n@x.fr", "a@x.fr\n", "\"a\"@x.fr", "a@-x.com",
		"a@x-.com", "a@1.2.3.4", "é@x.fr", "a@é.fr", "a@x..fr", "a@.x.fr", "a@x.fr.",
		"a<b>@x.fr", "a@b@x.fr",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(es_valid_email(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(es_valid_email(bad[i]));
	/* a 64-character label is one too many */
	memset(long_label, 'a', 64);
	(void)snprintf(long_label + 64, sizeof(long_label) - 64, ".fr");
	(void)snprintf(too_long, sizeof(too_long), "x@%s", long_label);
	assert_false(es_valid_email(too_long));
	(void)snprintf(long_label + 63, sizeof(long_label) - 63, ".fr"); /* 63: fine */
	(void)snprintf(too_long, sizeof(too_long), "x@%s", long_label);
	assert_true(es_valid_email(too_long));
	/* more than 254 bytes in all */
	memset(too_long, 'a', 60);
	too_long[60] = '@';
	for (size_t i = 61; i < 260; i += 10)
		memcpy(too_long + i, "bbbbbbbbb.", 10);
	memcpy(too_long + 261, "fr", 3);
	assert_true(strlen(too_long) > 254);
	assert_false(es_valid_email(too_long));
}

static void fold_is(const char *in, const char *want)
{
	char out[128];

	es_fold_ascii(in, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_fold_ascii(void **state)
{
	(void)state;
	fold_is("é", "e");
	fold_is("Élodie", "elodie");
	fold_is("Œuvre cœur", "oeuvre coeur");
	fold_is("Æsir", "aesir");
	fold_is("Straße", "strasse");
	fold_is("Ørsted", "orsted");
	fold_is("Łukasz Wałęsa", "lukasz walesa");
	fold_is("Ștefan Țurcanu", "stefan turcanu");
	fold_is("Peña", "pena");
	fold_is("L'Haÿ", "l'hay");
	fold_is("Zoë Lefèvre-Ça", "zoe lefevre-ca");
	fold_is("O’Brien", "o'brien");
	fold_is("Иван", "");               /* no folding: dropped */
	fold_is("a\tb\x1b[1mc", "ab[1mc");  /* control characters dropped */
	fold_is("a\xff" "b\xc3", "ab");     /* invalid bytes dropped */
	fold_is("×÷", "");
}

static void test_fold_truncation(void **state)
{
	char out[4];

	(void)state;
	es_fold_ascii("abcdef", out, sizeof(out));
	assert_string_equal(out, "abc");
	/* "ß" folds to two letters: never half of them */
	es_fold_ascii("abß", out, sizeof(out));
	assert_string_equal(out, "ab");
	es_fold_ascii("ab", out, 1);
	assert_string_equal(out, "");
}

static void base_is(const char *name, const char *want)
{
	char out[64];

	es_username_base(name, out, sizeof(out));
	assert_string_equal(out, want);
	assert_true(es_valid_username(out));
}

static void test_username_base(void **state)
{
	(void)state;
	base_is("Élodie Dupré", "edupre");
	base_is("DUPRÉ Élodie", "edupre");
	base_is("Élodie DUPRÉ", "edupre");
	base_is("Dupré, Élodie", "edupre");
	base_is("Jean-Luc Le Gall", "jlegall");
	base_is("LE GALL Jean-Luc", "jlegall");
	base_is("Awa N'Diaye", "andiaye");
	base_is("Zoë", "zoe");
	base_is("ELODIE DUPRE", "edupre"); /* all capitals: first word is the given name */
	base_is("  Marie   Curie  ", "mcurie");
	base_is("Иван Петров", "user");
	base_is("", "user");
	base_is("42 Martin", "martin"); /* starts with a letter */
	base_is("Ørjan Økland", "ookland");
}

static void test_username_base_long(void **state)
{
	char out[64];

	(void)state;
	es_username_base("Maria Anna Sophia Wolfgang-Amadeus Mozartovna-Schwarzenberg", out,
	                 sizeof(out));
	assert_true(strlen(out) <= 28);
	assert_true(strlen(out) > 0);
	assert_true(out[0] >= 'a' && out[0] <= 'z');
	assert_true(es_valid_username(out));
	assert_int_equal(strncmp(out, "manna", 5), 0);
}

struct taken {
	const char *names[8];
	size_t n;
};

static bool is_taken(const char *name, void *arg)
{
	const struct taken *t = arg;

	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->names[i], name) == 0)
			return true;
	return false;
}

static bool always_taken(const char *name, void *arg)
{
	(void)name;
	(void)arg;
	return true;
}

static void test_username_unique(void **state)
{
	struct taken t = { { "edupre", "edupre2", "jmartin" }, 3 };
	char out[40];
	const char *base28 = "abcdefghijklmnopqrstuvwxyzab";

	(void)state;
	assert_int_equal(es_username_unique("zoe", is_taken, &t, out, sizeof(out)), 0);
	assert_string_equal(out, "zoe");
	assert_int_equal(es_username_unique("edupre", is_taken, &t, out, sizeof(out)), 0);
	assert_string_equal(out, "edupre3");
	assert_int_equal(es_username_unique("jmartin", is_taken, &t, out, sizeof(out)), 0);
	assert_string_equal(out, "jmartin2");
	/* a 28-byte base still fits with a suffix */
	t.names[0] = base28;
	t.n = 1;
	assert_int_equal(es_username_unique(base28, is_taken, &t, out, sizeof(out)), 0);
	assert_string_equal(out, "abcdefghijklmnopqrstuvwxyzab2");
	assert_true(es_valid_username(out));
	/* nothing free under 32 bytes */
	assert_int_equal(es_username_unique(base28, always_taken, NULL, out, sizeof(out)), -1);
	/* base too long, or out too small */
	assert_int_equal(es_username_unique("abcdefghijklmnopqrstuvwxyzabcdefg", is_taken, &t, out,
	                                    sizeof(out)),
	                 -1);
	assert_int_equal(es_username_unique("zoe", is_taken, &t, out, 3), -1);
	assert_int_equal(es_username_unique("", is_taken, &t, out, sizeof(out)), -1);
}

static void expect_class_group(const char *klass, const char *want)
{
	char out[ES_CLASS_GROUP_BASE_MAX + 1];

	if (want == NULL) {
		assert_int_equal(es_class_group_base(klass, out, sizeof(out)), -1);
		return;
	}
	assert_int_equal(es_class_group_base(klass, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_true(es_valid_username(out)); /* shadow's rules for group names too */
}

static void test_class_group_base(void **state)
{
	char out[40];
	struct taken t = { { "c-1g1", "c-1g1-2" }, 2 };

	(void)state;
	expect_class_group("1ère G1", "c-1g1");
	expect_class_group("1re G1", "c-1g1");
	expect_class_group("2nde 3", "c-23");
	expect_class_group("6e A", "c-6a");
	expect_class_group("3ème B", "c-3b");
	expect_class_group("6eA", "c-6ea");           /* one word: not an ordinal */
	expect_class_group("Terminale STMG", "c-terminalestmg");
	expect_class_group("CM2-Écureuils", "c-cm2ecureuils");
	expect_class_group("10th Grade", "c-10grade");
	expect_class_group("/Students/2026/5A", "c-students20265a");
	expect_class_group("G1 1ère", "c-g11ere");    /* the ordinal only leads */
	expect_class_group("—", NULL);
	expect_class_group("", NULL);
	expect_class_group(NULL, NULL);
	expect_class_group("Классы 5", "c-5");        /* no folding for Cyrillic */
	/* long classes are cut so that a number still fits */
	expect_class_group("Section européenne anglais niveau avancé", "c-sectioneuropeenneanglaisni");
	assert_int_equal(es_class_group_base("1A", out, ES_CLASS_GROUP_BASE_MAX), -1);
	/* collisions are numbered with a dash */
	assert_int_equal(es_class_group_unique("c-1g1", is_taken, &t, out, sizeof(out)), 0);
	assert_string_equal(out, "c-1g1-3");
	assert_int_equal(es_class_group_unique("c-2a", is_taken, &t, out, sizeof(out)), 0);
	assert_string_equal(out, "c-2a");
	assert_int_equal(es_class_group_unique("c-2a", always_taken, NULL, out, sizeof(out)), -1);
}

static void expect_display(const char *first, const char *last, const char *want)
{
	char out[256];

	es_name_display(first, last, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_name_display(void **state)
{
	(void)state;
	expect_display("Élodie", "DUPRÉ", "Élodie Dupré");
	expect_display("Anaïs", "DE LA FONTAINE", "Anaïs de La Fontaine");
	expect_display("Moussa", "N'DIAYE", "Moussa N'Diaye");
	expect_display("Zoé", "MÜLLER-ŒSTERGAARD", "Zoé Müller-Œstergaard");
	expect_display("Yann", "LE GALL", "Yann Le Gall");
	expect_display("Inès", "D'ALMEIDA", "Inès d'Almeida");
	expect_display("Joachim", "DU BELLAY", "Joachim du Bellay");
	expect_display("Noémie", "DES ESSARTS", "Noémie des Essarts");
	expect_display("Gaëlle", "L'HERMITE", "Gaëlle L'Hermite");
	expect_display("Ève", "ÇELIK", "Ève Çelik");
	expect_display("Łucja", "ŻÓŁW", "Łucja Żółw");
	expect_display("Cécile", "NGUYỄN", "Cécile Nguyễn");
	expect_display("Ioana", "ȘTEFĂNESCU", "Ioana Ștefănescu");
	expect_display("Олег", "ПЕТРОВ", "Олег Петров");
	expect_display("İsmail", "YILDIZ", "İsmail Yildiz"); /* no Turkish ı: no locale */
	expect_display("Ali", "İNCE", "Ali İnce");
	expect_display("Jan", "DE", "Jan De"); /* a particle alone is a name */
	/* written in capitals, the first name is cased too, hyphens kept */
	expect_display("JEAN-BAPTISTE", "MARTIN-DUBOIS", "Jean-Baptiste Martin-Dubois");
	/* mixed case is the person's own spelling: kept */
	expect_display("Anaïs", "de La Fontaine", "Anaïs de La Fontaine");
	expect_display("Marc", "McDonald", "Marc McDonald");
	expect_display("  Léa ", "  François  ", "Léa François");
	/* one part only */
	expect_display(NULL, "DUPRÉ", "Dupré");
	expect_display("Élodie", NULL, "Élodie");
	expect_display("", "", "");
	/* letters with no case in the table are kept */
	expect_display("Ἀλέξανδρος", "ΠΑΠΑΔΌΠΟΥΛΟΣ", "Ἀλέξανδρος ΠΑΠΑΔΌΠΟΥΛΟΣ");
}

static void test_name_display_truncates(void **state)
{
	char out[8];

	(void)state;
	es_name_display("Élodie", "DUPRÉ", out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_string_equal(out, "Élodie"); /* never half a character */
	es_name_display("Élodie", "DUPRÉ", out, 1);
	assert_string_equal(out, "");
}

static void test_name_greeting(void **state)
{
	char out[64], small[12];

	(void)state;
	es_name_greeting("DUPRÉ Élodie", out, sizeof(out));
	assert_string_equal(out, "Élodie Dupré");
	es_name_greeting("Dupré, Élodie", out, sizeof(out));
	assert_string_equal(out, "Élodie Dupré");
	es_name_greeting("Élodie Dupré", out, sizeof(out));
	assert_string_equal(out, "Élodie Dupré");
	es_name_greeting("ÉLODIE DUPRÉ", out, sizeof(out));
	assert_string_equal(out, "Élodie Dupré");
	/* a word that does not fit leaves no space behind */
	es_name_greeting("Élodie Dupré", small, sizeof(small));
	assert_string_equal(small, "Élodie");
}

static void expect_split(const char *full, const char *first, const char *last)
{
	char f[64] = "untouched", l[64] = "untouched";
	bool ok = es_name_split(full, f, sizeof(f), l, sizeof(l));

	if (first == NULL) {
		assert_false(ok);
		assert_string_equal(f, "untouched");
		return;
	}
	assert_true(ok);
	assert_string_equal(f, first);
	assert_string_equal(l, last);
}

static void test_name_split(void **state)
{
	(void)state;
	expect_split("DUPRÉ Élodie", "Élodie", "DUPRÉ");
	expect_split("DE LA FONTAINE Anaïs", "Anaïs", "DE LA FONTAINE");
	expect_split("N'DIAYE Moussa", "Moussa", "N'DIAYE");
	expect_split("MARTIN-DUBOIS Jean-Baptiste", "Jean-Baptiste", "MARTIN-DUBOIS");
	expect_split("LE GALL Yann Marie", "Yann Marie", "LE GALL");
	expect_split("Élodie DUPRÉ", "Élodie", "DUPRÉ");
	expect_split("Dupré, Élodie", "Élodie", "Dupré");
	expect_split("  DUPRÉ   Élodie  ", "Élodie", "DUPRÉ");
	/* nothing says which part is which */
	expect_split("Élodie Dupré", NULL, NULL);
	expect_split("DUPRÉ ÉLODIE", NULL, NULL);
	expect_split("Élodie", NULL, NULL);
	expect_split("DUPRÉ", NULL, NULL);
	expect_split("DUPRÉ Élodie MARTIN", NULL, NULL); /* capitals at both ends */
	expect_split(", Élodie", NULL, NULL);
	expect_split("Nguyễn, Cécile", "Cécile", "Nguyễn");
	/* a comma among other signs is not a name's */
	expect_split("=HYPERLINK(\"http://evil.example\",\"x\")", NULL, NULL);
	expect_split("Dupont, \"Lulu\" Louise", NULL, NULL);
	expect_split("Martin, Jean, Luc", NULL, NULL);
	expect_split("", NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_username),
		cmocka_unit_test(test_valid_groupname),
		cmocka_unit_test(test_valid_existing_name),
		cmocka_unit_test(test_valid_email),
		cmocka_unit_test(test_fold_ascii),
		cmocka_unit_test(test_fold_truncation),
		cmocka_unit_test(test_username_base),
		cmocka_unit_test(test_username_base_long),
		cmocka_unit_test(test_username_unique),
		cmocka_unit_test(test_class_group_base),
		cmocka_unit_test(test_name_display),
		cmocka_unit_test(test_name_display_truncates),
		cmocka_unit_test(test_name_split),
		cmocka_unit_test(test_name_greeting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
