/* Template rendering: variables, HTML escaping, sections, every error with
 * its line; subject split; lookup order and language fallback; and every
 * shipped template renders in both languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_template.h"

static const struct es_tvar vars[] = {
	{ "name", "Zoë <b>&\"'" },
	{ "username", "zlefevre" },
	{ "contact", "" },
	{ "class", NULL },
	{ "school_name", "Lycée Exemple" },
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

static struct es_buf rendered; /* the last rendering */

static char *render(const char *t, bool html, struct es_err *err, int *rc)
{
	es_buf_free(&rendered);
	*rc = es_template_render(t, strlen(t), "t.txt", html, vars, NVARS, &rendered, err);
	return rendered.data != NULL ? rendered.data : (char *)"";
}

static void test_variables(void **state)
{
	struct es_err err = { 0 };
	int rc;

	(void)state;
	assert_string_equal(render("Hi {{name}}, you are {{ username }}.", false, &err, &rc),
	                    "Hi Zoë <b>&\"', you are zlefevre.");
	assert_int_equal(rc, 0);
	assert_string_equal(render("<p>{{name}}</p>", true, &err, &rc),
	                    "<p>Zoë &lt;b&gt;&amp;&quot;&#39;</p>");
	assert_string_equal(render("no variables at all", false, &err, &rc), "no variables at all");
	assert_string_equal(render("[{{class}}][{{contact}}]", false, &err, &rc), "[][]");
	assert_string_equal(render("{ {not} } } {", false, &err, &rc), "{ {not} } } {");
}

static void test_sections(void **state)
{
	struct es_err err = { 0 };
	int rc;

	(void)state;
	assert_string_equal(render("a{{#username}}[{{username}}]{{/username}}b", false, &err, &rc),
	                    "a[zlefevre]b");
	assert_string_equal(render("a{{#contact}}[{{contact}}]{{/contact}}b", false, &err, &rc),
	                    "ab");
	assert_string_equal(render("a{{#class}}x{{#username}}y{{/username}}{{/class}}b", false,
	                           &err, &rc),
	                    "ab");
	assert_string_equal(render("{{#username}}1{{#school_name}}2{{/school_name}}3{{/username}}",
	                           false, &err, &rc),
	                    "123");
	assert_int_equal(rc, 0);
}

static void expect_error(const char *t, const char *needle)
{
	struct es_err err = { 0 };
	int rc;

	(void)render(t, false, &err, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, ES_EDATA);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s' not in '%s'", needle, err.msg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("line1\nline2 {{nmae}}", "t.txt:2: unknown variable 'nmae'");
	expect_error("a\n\nb {{name", "t.txt:3: '{{' without '}}'");
	expect_error("{{#name}}x", "t.txt:1: section '{{#name}}' is not closed");
	expect_error("{{#name}}x{{/username}}", "does not close");
	expect_error("{{/name}}", "does not close");
	expect_error("{{}}", "unknown variable");
	expect_error("{{Name}}", "unknown variable");
	expect_error("{{#nope}}{{/nope}}", "unknown variable 'nope'");
}

static void test_control_characters_in_values(void **state)
{
	const struct es_tvar bad[] = { { "name", "a\x1b[31m" } };
	const struct es_tvar ok[] = { { "name", "line1\nline2" } };
	struct es_buf b = { 0 };
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_template_render("{{name}}", 8, "t", false, bad, 1, &b, &err), -1);
	assert_non_null(strstr(err.msg, "control character"));
	assert_int_equal(es_template_render("{{name}}", 8, "t", false, ok, 1, &b, &err), 0);
	es_buf_free(&b);
}

static void test_split(void **state)
{
	char t1[] = "Subject:  Votre compte \r\n\r\nBonjour\n";
	char t2[] = "Bonjour\n";
	char t3[] = "Subject:\n\nx";
	const char *subject, *body;
	struct es_err err = { 0 };

	(void)state;
	assert_int_equal(es_template_split(t1, "w.txt", &subject, &body, &err), 0);
	assert_string_equal(subject, "Votre compte");
	assert_string_equal(body, "Bonjour\n");
	assert_int_equal(es_template_split(t2, "w.txt", &subject, &body, &err), -1);
	assert_non_null(strstr(err.msg, "w.txt:1"));
	assert_int_equal(es_template_split(t3, "w.txt", &subject, &body, &err), -1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void test_load_order_and_fallback(void **state)
{
	char base[] = "/tmp/es-tmpl-XXXXXX", site[300], pkg[300], p[400], used[512];
	const char *dirs[2];
	char *data = NULL;
	size_t len = 0;
	struct es_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(base));
	(void)snprintf(site, sizeof(site), "%s/site", base);
	(void)snprintf(pkg, sizeof(pkg), "%s/pkg", base);
	dirs[0] = site;
	dirs[1] = pkg;
	assert_int_equal(mkdir(site, 0700), 0);
	assert_int_equal(mkdir(pkg, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/fr", pkg);
	assert_int_equal(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/en", pkg);
	assert_int_equal(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/fr", site);
	assert_int_equal(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/fr/reset.txt", pkg);
	write_file(p, "pkg fr");
	(void)snprintf(p, sizeof(p), "%s/en/test.txt", pkg);
	write_file(p, "pkg en");

	/* the package's file */
	assert_int_equal(es_template_load(dirs, 2, "fr", "en", "reset", "txt", &data, &len, used,
	                                  sizeof(used), NULL, &err),
	                 0);
	assert_string_equal(data, "pkg fr");
	free(data);
	/* the school's override wins */
	(void)snprintf(p, sizeof(p), "%s/fr/reset.txt", site);
	write_file(p, "site fr");
	assert_int_equal(es_template_load(dirs, 2, "fr", "en", "reset", "txt", &data, &len, used,
	                                  sizeof(used), NULL, &err),
	                 0);
	assert_string_equal(data, "site fr");
	assert_string_equal(used, p);
	free(data);
	/* fallback language */
	{
		const char *lang_used = NULL;
		assert_int_equal(es_template_load(dirs, 2, "fr", "en", "test", "txt", &data, &len,
		                                  used, sizeof(used), &lang_used, &err),
		                 0);
		assert_string_equal(lang_used, "en");
	}
	assert_string_equal(data, "pkg en");
	free(data);
	/* missing, and names that would be paths */
	assert_int_equal(es_template_load(dirs, 2, "fr", "en", "nope", "txt", &data, &len, used,
	                                  sizeof(used), NULL, &err),
	                 -1);
	assert_int_equal(err.code, ES_EUNAVAIL);
	assert_int_equal(es_template_load(dirs, 2, "fr", "en", "../fr/reset", "txt", &data, &len,
	                                  used, sizeof(used), NULL, &err),
	                 -1);
	assert_int_equal(err.code, ES_EDATA);
	/* a symlink is not followed */
	(void)snprintf(p, sizeof(p), "%s/en/link.txt", pkg);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(es_template_load(dirs, 2, "en", NULL, "link", "txt", &data, &len, used,
	                                  sizeof(used), NULL, &err),
	                 -1);
	{
		char cmd[400];
		(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		assert_int_equal(system(cmd), 0);
	}
}

/* Every shipped template renders in both languages with every variable a
 * mail can carry; credentials appear where they belong and only there. */
static void test_shipped_templates(void **state)
{
	static const char *const kinds[] = { "welcome-student", "welcome-teacher", "parent-notice",
		                             "reset", "test", "quota-alert", "delivery-failure" };
	static const char *const langs[] = { "fr", "en" };
	const struct es_tvar all[] = {
		{ "school_name", "Lycée <Exemple> & Co" }, { "contact", "IT office, B12" },
		{ "admin_email", "it@school.example" },    { "logo", "1" },
		{ "name", "Zoë \"Z\" Lefèvre" },             { "username", "zlefevre" },
		{ "password", "Pw7xKq2mTn4r" },           { "class", "2nde A" },
		{ "expires", "9 décembre 2026" },          { "used", "400" },
		{ "quota", "500" },                        { "window", "today" },
		{ "recipient", "z@school.example" },       { "message_kind", "welcome-student" },
		{ "error", "550 5.1.1 no such user" },     { "message_id", "1a2b" },
	};
	const char *dirs[] = { "conf/templates" };
	struct stat st;

	(void)state;
	if (stat("conf/templates", &st) != 0)
		fail_msg("run from the source tree: conf/templates not found");
	for (size_t l = 0; l < 2; l++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			bool has_password = strncmp(kinds[k], "welcome-", 8) == 0 ||
			                    strcmp(kinds[k], "reset") == 0;
			for (int html = 0; html < 2; html++) {
				char *data = NULL, used[512];
				size_t len = 0;
				struct es_buf out = { 0 };
				struct es_err err = { 0 };

				if (es_template_load(dirs, 1, langs[l], NULL, kinds[k],
				                     html ? "html" : "txt", &data, &len, used, sizeof(used),
				                     NULL, &err) != 0)
					fail_msg("%s", err.msg);
				if (es_template_render(data, len, used, html, all,
				                       sizeof(all) / sizeof(all[0]), &out, &err) != 0)
					fail_msg("%s", err.msg);
				assert_true((strstr(out.data, "Pw7xKq2mTn4r") != NULL) == has_password);
				if (html) {
					assert_non_null(strstr(out.data, "Lycée &lt;Exemple&gt; &amp; Co"));
					assert_null(strstr(out.data, "<Exemple>"));
					assert_non_null(strstr(out.data, "cid:logo"));
					assert_non_null(strstr(out.data, "viewport"));
				} else {
					const char *subject, *body;
					if (es_template_split(out.data, used, &subject, &body, &err) != 0)
						fail_msg("%s", err.msg);
					assert_true(strlen(subject) > 5 && strlen(body) > 20);
					assert_null(strchr(subject, '{'));
				}
				assert_null(strstr(out.data, "{{"));
				es_buf_free(&out);
				free(data);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_control_characters_in_values),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_load_order_and_fallback),
		cmocka_unit_test(test_shipped_templates),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	es_buf_free(&rendered);
	return rc;
}
