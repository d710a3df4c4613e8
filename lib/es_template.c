#include "es_template.h"

#include "es_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 8
#define MAX_TEMPLATE (256L * 1024)

static unsigned long line_at(const char *s, size_t pos)
{
	unsigned long line = 1;

	for (size_t i = 0; i < pos; i++)
		line += s[i] == '\n';
	return line;
}

static const struct es_tvar *find_var(const struct es_tvar *vars, size_t n, const char *name,
                                      size_t nlen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i].name) == nlen && strncmp(vars[i].name, name, nlen) == 0)
			return &vars[i];
	return NULL;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static int append_value(struct es_buf *out, const char *v, bool html)
{
	if (!html)
		return es_buf_puts(out, v);
	for (; *v != '\0'; v++) {
		const char *rep = NULL;
		int rc;

		switch (*v) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		rc = rep != NULL ? es_buf_puts(out, rep) : es_buf_append(out, v, 1);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Over 80 lines: the template language's one scanner (text, variables,
 * sections and their nesting), each error next to what it refuses. */
int es_template_render(const char *tmpl, size_t len, const char *where, bool html,
                       const struct es_tvar *vars, size_t nvars, struct es_buf *out,
                       struct es_err *err)
{
	struct {
		const char *name;
		size_t nlen;
		bool hidden;
		size_t pos;
	} stack[MAX_DEPTH];
	size_t depth = 0, hidden = 0, pos = 0;

	for (size_t i = 0; i < nvars; i++) {
		const char *v = vars[i].value;
		for (; v != NULL && *v != '\0'; v++)
			if (((unsigned char)*v < 0x20 && *v != '\n' && *v != '\t') || *v == 0x7f)
				return es_err_set(err, ES_EDATA,
				                  "%s: the value of {{%s}} holds a control character",
				                  where, vars[i].name);
	}
	while (pos < len) {
		const char *open = memmem(tmpl + pos, len - pos, "{{", 2), *close, *tok;
		size_t tlen;

		if (open == NULL) {
			if (hidden == 0 && es_buf_append(out, tmpl + pos, len - pos) != 0)
				goto oom;
			break;
		}
		if (hidden == 0 && es_buf_append(out, tmpl + pos, (size_t)(open - (tmpl + pos))) != 0)
			goto oom;
		close = memmem(open + 2, len - (size_t)(open + 2 - tmpl), "}}", 2);
		if (close == NULL)
			return es_err_set(err, ES_EDATA, "%s:%lu: '{{' without '}}'", where,
			                  line_at(tmpl, (size_t)(open - tmpl)));
		tok = open + 2;
		tlen = (size_t)(close - tok);
		while (tlen > 0 && *tok == ' ') {
			tok++;
			tlen--;
		}
		while (tlen > 0 && tok[tlen - 1] == ' ')
			tlen--;
		if (tlen > 0 && (tok[0] == '#' || tok[0] == '/')) {
			bool begin = tok[0] == '#';
			tok++;
			tlen--;
			if (!valid_name(tok, tlen) || find_var(vars, nvars, tok, tlen) == NULL)
				return es_err_set(err, ES_EDATA, "%s:%lu: unknown variable '%.*s'", where,
				                  line_at(tmpl, (size_t)(open - tmpl)), (int)(tlen > 40 ? 40 : tlen),
				                  tok);
			if (begin) {
				const struct es_tvar *v = find_var(vars, nvars, tok, tlen);
				if (depth == MAX_DEPTH)
					return es_err_set(err, ES_EDATA, "%s:%lu: sections nested too deep",
					                  where, line_at(tmpl, (size_t)(open - tmpl)));
				stack[depth].name = tok;
				stack[depth].nlen = tlen;
				stack[depth].pos = (size_t)(open - tmpl);
				stack[depth].hidden = v->value == NULL || v->value[0] == '\0';
				hidden += stack[depth].hidden;
				depth++;
			} else {
				if (depth == 0 || stack[depth - 1].nlen != tlen ||
				    strncmp(stack[depth - 1].name, tok, tlen) != 0)
					return es_err_set(err, ES_EDATA,
					                  "%s:%lu: '{{/%.*s}}' does not close the open section",
					                  where, line_at(tmpl, (size_t)(open - tmpl)),
					                  (int)tlen, tok);
				depth--;
				hidden -= stack[depth].hidden;
			}
		} else {
			const struct es_tvar *v;
			if (!valid_name(tok, tlen) || (v = find_var(vars, nvars, tok, tlen)) == NULL)
				return es_err_set(err, ES_EDATA, "%s:%lu: unknown variable '%.*s'", where,
				                  line_at(tmpl, (size_t)(open - tmpl)), (int)(tlen > 40 ? 40 : tlen),
				                  tok);
			if (hidden == 0 && v->value != NULL && append_value(out, v->value, html) != 0)
				goto oom;
		}
		pos = (size_t)(close + 2 - tmpl);
	}
	if (depth > 0)
		return es_err_set(err, ES_EDATA, "%s:%lu: section '{{#%.*s}}' is not closed", where,
		                  line_at(tmpl, stack[depth - 1].pos), (int)stack[depth - 1].nlen,
		                  stack[depth - 1].name);
	return 0;
oom:
	return es_err_set(err, ES_EOS, "out of memory");
}

int es_template_split(char *text, const char *where, const char **subject, const char **body,
                      struct es_err *err)
{
	char *nl, *s;

	if (strncmp(text, "Subject:", 8) != 0)
		return es_err_set(err, ES_EDATA, "%s:1: the text template must start with 'Subject: '",
		                  where);
	nl = strchr(text, '\n');
	if (nl == NULL)
		return es_err_set(err, ES_EDATA, "%s: no body after the Subject line", where);
	*nl = '\0';
	if (nl > text && nl[-1] == '\r')
		nl[-1] = '\0';
	s = es_trim(text + 8);
	if (s[0] == '\0')
		return es_err_set(err, ES_EDATA, "%s:1: empty subject", where);
	*subject = s;
	s = nl + 1;
	if (*s == '\r')
		s++;
	if (*s == '\n')
		s++; /* the blank line */
	*body = s;
	return 0;
}

static int read_small(const char *path, char **data, size_t *len, struct es_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int e;

	if (fd < 0)
		return errno == ENOENT ? 1 : es_err_errno(err, ES_EIO, errno, "cannot open %s", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_TEMPLATE) {
		(void)close(fd);
		return es_err_set(err, ES_EDATA, "%s: not a regular file of at most 256 KiB", path);
	}
	e = es_fs_read_alloc(fd, (size_t)st.st_size, &buf, &got);
	(void)close(fd);
	if (e == ENOMEM)
		return es_err_set(err, ES_EOS, "out of memory");
	if (e != 0 || got != (size_t)st.st_size || !es_utf8_valid(buf, got) ||
	    memchr(buf, '\0', got)) {
		free(buf);
		return es_err_set(err, ES_EDATA, "%s: unreadable or not UTF-8 text", path);
	}
	*data = buf;
	*len = got;
	return 0;
}

int es_template_load(const char *const *dirs, size_t ndirs, const char *lang,
                     const char *fallback_lang, const char *kind, const char *ext, char **data,
                     size_t *len, char *path, size_t pathsz, const char **used_lang,
                     struct es_err *err)
{
	const char *langs[2] = { lang, fallback_lang };

	/* names come from the config (role templates): never a path */
	for (const char *p = kind; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return es_err_set(err, ES_EDATA, "bad template name '%s'", kind);
	for (size_t k = 0; k < 2; k++) {
		if (langs[k] == NULL || langs[k][0] == '\0' || strchr(langs[k], '/') != NULL)
			continue;
		for (size_t d = 0; d < ndirs; d++) {
			int r;
			if (dirs[d] == NULL || dirs[d][0] == '\0')
				continue;
			if ((size_t)snprintf(path, pathsz, "%s/%s/%s.%s", dirs[d], langs[k], kind, ext) >=
			    pathsz)
				return es_err_set(err, ES_EDATA, "template path too long");
			r = read_small(path, data, len, err);
			if (r == 0 && used_lang != NULL)
				*used_lang = langs[k];
			if (r <= 0)
				return r;
		}
	}
	return es_err_set(err, ES_EUNAVAIL, "no template %s.%s for language %s", kind, ext,
	                  lang != NULL ? lang : "-");
}
