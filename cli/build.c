/* build.c: one input line -> one request (URL line, JSON request object, or
 * a value substituted into the URL template). JSON goes through libjq's jv. */
#include <jv.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

struct cli_builder {
  const cli_opts *o;
  const flurry_client *client; /* whose headers are credentials */
  const cli_level *level0;
  cli_level own; /* level 0 of a cli_opts filled by hand (nlevels 0) */
};

int cli_builder_new(cli_builder **out, const cli_opts *o, const flurry_client *client, char *err,
                    size_t errlen) {
  cli_builder *b = fl_calloc(1, sizeof *b);
  if (b == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  b->o = o;
  b->client = client;
  b->level0 = o->nlevels ? &o->levels[0] : &b->own;
  b->own.template_url = o->template_url;
  b->own.method = o->method;
  b->own.data = o->data;
  b->own.data_is_json = o->data_is_json;
  *out = b;
  return 0;
}

void cli_builder_free(cli_builder *b) { fl_free(b); }

/* The identity of a request with no id of its own: method, URL and body
 * (NUL-separated), so the same request hashes the same in every run and
 * whatever line it stands on. */
static void set_key(cli_built *bt, const char *body, size_t body_len) {
  uint64_t h = fl_hash(FL_HASH_INIT, bt->method, strlen(bt->method) + 1);
  h = fl_hash(h, bt->url, strlen(bt->url) + 1);
  bt->req_key = fl_hash_mix(fl_hash(h, body, body_len));
  if (!bt->explicit_id)
    bt->key = bt->req_key;
}

/* An id given by the line is the identity. */
static void set_explicit_id(cli_built *bt, const char *id_json) {
  bt->explicit_id = 1;
  bt->key = fl_hash_mix(fl_hash(FL_HASH_INIT ^ 0x1d, id_json, strlen(id_json)));
}

void cli_built_clear(cli_built *bt) {
  flurry_request_free(bt->req);
  fl_free(bt->id_json);
  fl_free(bt->method);
  fl_free(bt->url);
  fl_free(bt->error);
  memset(bt, 0, sizeof *bt);
}

/* Records an input error for this line; returns 0 (the error is data). */
static int line_error(cli_built *bt, uint64_t lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int line_error(cli_built *bt, uint64_t lineno, const char *fmt, ...) {
  fl_buf m = FL_BUF_INIT(2048);
  va_list ap;
  va_start(ap, fmt);
  fl_buf_printf(&m, "line %llu: ", (unsigned long long)lineno);
  fl_buf_vprintf(&m, fmt, ap);
  va_end(ap);
  fl_free(bt->error);
  bt->error = fl_buf_take(&m, NULL);
  flurry_request_free(bt->req);
  bt->req = NULL;
  return bt->error ? 0 : FLURRY_ENOMEM;
}

static int is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

static int append_encoded(fl_buf *out, const char *s, size_t n, int encode) {
  static const char hex[] = "0123456789ABCDEF";
  if (!encode)
    return fl_buf_append(out, s, n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int rc = is_unreserved(c) ? fl_buf_putc(out, (char)c)
                              : fl_buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
    if (rc != FL_OK)
      return rc;
  }
  return FL_OK;
}

/* Appends the text of a jv value: strings raw, everything else as JSON.
 * Consumes v. */
static int append_jv_text(fl_buf *out, jv v, int encode) {
  int rc;
  if (jv_get_kind(v) == JV_KIND_STRING) {
    rc = append_encoded(out, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)),
                        encode);
  } else {
    jv s = jv_dump_string(jv_copy(v), 0);
    rc = append_encoded(out, jv_string_value(s), strlen(jv_string_value(s)), encode);
    jv_free(s);
  }
  jv_free(v);
  return rc;
}

/* Follows a ".a.b" path; consumes obj. Returns an invalid jv when missing. */
static jv jv_path(jv obj, const char *path, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (path[i] != '.' || jv_get_kind(obj) != JV_KIND_OBJECT) {
      jv_free(obj);
      return jv_invalid();
    }
    size_t j = i + 1;
    while (j < n && path[j] != '.')
      j++;
    jv v = jv_object_get(obj, jv_string_sized(path + i + 1, (int)(j - i - 1)));
    if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL) {
      jv_free(v);
      return jv_invalid();
    }
    obj = v;
    i = j;
  }
  return obj;
}

/* The length of a "{NAME}" placeholder of src's variable at p, else 0. */
static size_t var_at(const cli_src *src, const char *p) {
  size_t n = src->var ? strlen(src->var) : 0;
  return n && p[0] == '{' && strncmp(p + 1, src->var, n) == 0 && p[n + 1] == '}' ? n + 2 : 0;
}

/* 1 when tmpl has src's {NAME}. */
static int has_var(const cli_src *src, const char *tmpl) {
  for (const char *p = tmpl ? strchr(tmpl, '{') : NULL; p; p = strchr(p + 1, '{'))
    if (var_at(src, p))
      return 1;
  return 0;
}

/* Substitutes {} (the line or value), {.field} (a field of it as JSON) and
 * {NAME} (the paginator's variable) into tmpl. Returns 0, or fails bt with
 * a message. */
static int substitute(cli_built *bt, uint64_t lineno, const char *tmpl, const cli_src *src,
                      jv *parsed, int encode, fl_buf *out) {
  const char *p = tmpl;
  while (*p) {
    const char *open = strchr(p, '{');
    size_t var = open ? var_at(src, open) : 0;
    const char *close = open ? strchr(open, '}') : NULL;
    if (var == 0 && (open == NULL || close == NULL || (open[1] != '}' && open[1] != '.'))) {
      size_t n = open ? (size_t)(open - p) + 1 : strlen(p);
      if (fl_buf_append(out, p, n) != FL_OK)
        return FLURRY_ENOMEM;
      p += n;
      continue;
    }
    if (fl_buf_append(out, p, (size_t)(open - p)) != FL_OK)
      return FLURRY_ENOMEM;
    if (var) {
      const char *v = src->var_value ? src->var_value : "";
      if (append_encoded(out, v, strlen(v), encode) != FL_OK)
        return FLURRY_ENOMEM;
      p = open + var;
      continue;
    }
    if (open[1] == '}') {
      if (append_encoded(out, src->text, src->len, encode) != FL_OK)
        return FLURRY_ENOMEM;
    } else {
      if (jv_get_kind(*parsed) == JV_KIND_INVALID) {
        jv_free(*parsed);
        *parsed = jv_is_valid(src->value) ? jv_copy(src->value) : cli_jv_parse(src->text, src->len);
      }
      if (jv_get_kind(*parsed) != JV_KIND_OBJECT)
        return line_error(bt, lineno, "%.*s needs a JSON object %s", (int)(close - open + 1), open,
                          jv_is_valid(src->value) ? "value" : "line");
      jv v = jv_path(jv_copy(*parsed), open + 1, (size_t)(close - open - 1));
      if (!jv_is_valid(v))
        return line_error(bt, lineno, "field %.*s is missing or null%s%s", (int)(close - open - 1),
                          open + 1, jv_is_valid(src->value) ? " in the value " : "",
                          jv_is_valid(src->value) ? src->text : "");
      if (append_jv_text(out, v, encode) != FL_OK)
        return FLURRY_ENOMEM;
    }
    p = close + 1;
  }
  return 0;
}

/* Appends ?NAME=VALUE (or &NAME=VALUE) to a URL: a paginator's variable
 * when the templates do not place it. */
static int append_var(fl_buf *url, const cli_src *src) {
  if (src->var == NULL || src->var_value == NULL || src->var_value[0] == '\0')
    return 0;
  char sep = url->data && strchr(url->data, '?') ? '&' : '?';
  int rc = fl_buf_putc(url, sep);
  if (rc == FL_OK)
    rc = append_encoded(url, src->var, strlen(src->var), 1);
  if (rc == FL_OK)
    rc = fl_buf_putc(url, '=');
  if (rc == FL_OK)
    rc = append_encoded(url, src->var_value, strlen(src->var_value), 1);
  return rc == FL_OK ? 0 : FLURRY_ENOMEM;
}

int cli_template_origin_fixed(const char *tmpl) {
  const char *rest = strncmp(tmpl, "http://", 7) == 0    ? tmpl + 7
                     : strncmp(tmpl, "https://", 8) == 0 ? tmpl + 8
                                                         : NULL;
  if (rest == NULL) /* relative: --base-url gives the origin */
    return tmpl[0] != '{';
  size_t authority = strcspn(rest, "/?#");
  return memchr(rest, '{', authority) == NULL;
}

/* 1 when the template is a single placeholder: inserted raw. */
static int template_whole(const char *t) {
  size_t n = strlen(t);
  return n >= 2 && t[0] == '{' && t[n - 1] == '}' && strchr(t + 1, '{') == NULL;
}

/* The line number as the id. fl_buf_take of a buffer whose append failed
 * gives "", which made the record's "id":, (invalid JSON): check the
 * append. */
static int set_id_line(cli_built *bt, uint64_t lineno) {
  fl_buf id = FL_BUF_INIT(32);
  if (fl_buf_i64(&id, (int64_t)lineno) != FL_OK) {
    fl_buf_free(&id);
    return FLURRY_ENOMEM;
  }
  bt->id_json = fl_buf_take(&id, NULL);
  return bt->id_json ? 0 : FLURRY_ENOMEM;
}

/* Creates bt->req; method/url copied for the record. */
static int new_request(cli_built *bt, uint64_t lineno, const char *method, const char *url) {
  bt->method = fl_strdup(method);
  bt->url = fl_strdup(url);
  if (bt->method == NULL || bt->url == NULL)
    return FLURRY_ENOMEM;
  int rc = flurry_request_new(&bt->req, method, url);
  if (rc == FLURRY_EINVALID)
    return line_error(bt, lineno,
                      "invalid %s: method must be an HTTP token, URL without "
                      "spaces or control characters",
                      *url ? "request" : "URL (empty)");
  return rc;
}

static int set_body(cli_built *bt, uint64_t lineno, const char *body, size_t n, int json) {
  if (!json)
    return flurry_request_set_body(bt->req, body, n);
  fl_buf compact = FL_BUF_INIT(0);
  int rc = fl_json_compact(&compact, body, n, NULL);
  if (rc == FL_EPARSE) {
    fl_buf_free(&compact);
    return line_error(bt, lineno, "the JSON body is not valid JSON: %.*s", (int)(n > 200 ? 200 : n),
                      body);
  }
  rc = rc == FL_OK ? flurry_request_set_json(bt->req, body, n) : FLURRY_ENOMEM;
  fl_buf_free(&compact);
  return rc;
}

/* The id of a JSON object line, when it has one. */
static void take_line_id(cli_built *bt, jv parsed) {
  jv id = jv_object_get(jv_copy(parsed), jv_string("id"));
  if (jv_is_valid(id) && jv_get_kind(id) != JV_KIND_NULL) {
    jv s = jv_dump_string(id, 0);
    fl_free(bt->id_json);
    bt->id_json = fl_strdup(jv_string_value(s));
    set_explicit_id(bt, jv_string_value(s));
    jv_free(s);
  } else {
    jv_free(id);
  }
}

static const char *level_method(const cli_level *lv, int has_body) {
  return lv->method ? lv->method : has_body ? "POST" : "GET";
}

/* A follow-up's URL taken whole from a page (a link in it, RFC 3986:
 * "/x", "x", "../x", "//host/x") resolved against the page's URL
 * (flurry_url_resolve); an absolute one, or one that does not resolve, is
 * left as it is (the client then says what is wrong). 0 or FLURRY_ENOMEM. */
static int resolve_link(const char *base, fl_buf *url) {
  char probe[1];
  if (flurry_url_resolve(NULL, url->data, probe, sizeof probe) != FLURRY_EINVALID)
    return 0;                                 /* absolute already */
  size_t cap = strlen(base) + url->len + 256; /* dot segments only shorten it */
  char *abs = fl_malloc(cap);
  if (abs == NULL)
    return FLURRY_ENOMEM;
  int rc = flurry_url_resolve(base, url->data, abs, cap);
  if (rc == FLURRY_OK) {
    fl_buf_reset(url);
    rc = fl_buf_puts(url, abs) == FL_OK ? FLURRY_OK : FLURRY_ENOMEM;
  }
  fl_free(abs);
  return rc == FLURRY_ENOMEM ? rc : 0;
}

/* The line or value substituted into the URL template (and the -d/--json
 * body); a next link replaces the URL. */
static int build_template(const cli_src *src, uint64_t lineno, cli_built *bt) {
  const cli_level *lv = src->lv;
  jv parsed = jv_invalid();
  fl_buf url = FL_BUF_INIT(0), body = FL_BUF_INIT(0);
  int rc = src->url ? (fl_buf_puts(&url, src->url) == FL_OK ? 0 : FLURRY_ENOMEM)
                    : substitute(bt, lineno, lv->template_url, src, &parsed,
                                 !template_whole(lv->template_url), &url);
  if (rc == 0 && bt->error == NULL && lv->data)
    rc = substitute(bt, lineno, lv->data, src, &parsed, 0, &body);
  if (rc == 0 && bt->error == NULL && src->url == NULL && !has_var(src, lv->template_url) &&
      !has_var(src, lv->data))
    rc = append_var(&url, src);
  if (rc == 0 && bt->error == NULL && !jv_is_valid(src->value) &&
      jv_get_kind(parsed) == JV_KIND_OBJECT)
    take_line_id(bt, parsed);
  jv_free(parsed);
  if (rc == 0 && bt->error == NULL && url.data && memchr(url.data, '\0', url.len))
    rc = line_error(bt, lineno, "NUL byte in the URL"); /* a value's \u0000 */
  if (rc == 0 && bt->error == NULL && url.data && src->base && src->url == NULL &&
      template_whole(lv->template_url))
    rc = resolve_link(src->base, &url);
  if (rc == 0 && bt->error == NULL)
    rc = new_request(bt, lineno, level_method(lv, lv->data != NULL), url.data ? url.data : "");
  if (rc == 0 && bt->req && lv->data)
    rc = set_body(bt, lineno, body.data ? body.data : "", body.len, lv->data_is_json);
  if (rc == 0 && bt->req)
    set_key(bt, body.data ? body.data : "", body.len);
  fl_buf_free(&url);
  fl_buf_free(&body);
  return rc;
}

/* 1 when a jq string has a NUL byte (\u0000): C would cut it there. */
static int jv_has_nul(jv s) {
  return strlen(jv_string_value(s)) != (size_t)jv_string_length_bytes(jv_copy(s));
}

/* Applies "headers": {"Name": "value", ...}; consumes h. */
static int object_headers(cli_built *bt, uint64_t lineno, jv h, const cli_src *src) {
  int rc = 0;
  if (jv_get_kind(h) != JV_KIND_OBJECT) {
    jv_free(h);
    return line_error(bt, lineno, "\"headers\" must be an object of strings");
  }
  int it = jv_object_iter(h);
  while (rc == 0 && bt->req && jv_object_iter_valid(h, it)) {
    jv k = jv_object_iter_key(h, it);
    jv v = jv_object_iter_value(h, it);
    const char *name = jv_string_value(k);
    if (jv_get_kind(v) != JV_KIND_STRING) {
      rc = line_error(bt, lineno, "header \"%s\" must be a string", name);
    } else if (jv_has_nul(k)) {
      rc = line_error(bt, lineno, "header \"%s\" has a NUL byte in its name", name);
    } else if (src->no_secrets &&
               flurry_header_is_secret(src->client, name, FLURRY_HEADER_REQUEST)) {
      /* not for this origin */
    } else if (strlen(jv_string_value(v)) != (size_t)jv_string_length_bytes(jv_copy(v)) ||
               flurry_request_add_header(bt->req, name, jv_string_value(v)) == FLURRY_EINVALID) {
      rc = line_error(bt, lineno,
                      "header \"%s\" is invalid (name not a token, or CR, LF or NUL "
                      "in the value)",
                      name);
    }
    jv_free(k);
    jv_free(v);
    it = jv_object_iter_next(h, it);
  }
  jv_free(h);
  return rc;
}

/* Applies "query": {"name": value, ...}; consumes q. */
static int object_query(cli_built *bt, uint64_t lineno, jv q) {
  int rc = 0;
  if (jv_get_kind(q) != JV_KIND_OBJECT) {
    jv_free(q);
    return line_error(bt, lineno, "\"query\" must be an object");
  }
  int it = jv_object_iter(q);
  while (rc == 0 && bt->req && jv_object_iter_valid(q, it)) {
    jv k = jv_object_iter_key(q, it);
    jv v = jv_object_iter_value(q, it);
    fl_buf text = FL_BUF_INIT(0);
    if (append_jv_text(&text, v, 0) != FL_OK)
      rc = FLURRY_ENOMEM;
    else if (jv_has_nul(k) || (text.data && memchr(text.data, '\0', text.len)))
      rc = line_error(bt, lineno, "query parameter \"%s\" has a NUL byte", jv_string_value(k));
    else if (flurry_request_add_query(bt->req, jv_string_value(k), text.data ? text.data : "") !=
             FLURRY_OK)
      rc = line_error(bt, lineno, "query parameter \"%s\" is invalid", jv_string_value(k));
    fl_buf_free(&text);
    jv_free(k);
    it = jv_object_iter_next(q, it);
  }
  jv_free(q);
  return rc;
}

static const char *const request_fields[] = {"id",   "method", "url",     "headers", "query",
                                             "json", "body",   "timeout", NULL};

static int check_fields(cli_built *bt, uint64_t lineno, jv obj) {
  int rc = 0;
  int it = jv_object_iter(obj);
  while (rc == 0 && jv_object_iter_valid(obj, it)) {
    jv k = jv_object_iter_key(obj, it);
    int known = 0;
    for (const char *const *f = request_fields; *f && !known; f++)
      known = strcmp(*f, jv_string_value(k)) == 0;
    if (!known)
      rc = line_error(bt, lineno,
                      "unknown field \"%s\" (known: id, method, url, headers, query, "
                      "json, body, timeout)",
                      jv_string_value(k));
    jv_free(k);
    it = jv_object_iter_next(obj, it);
  }
  return rc;
}

static int object_body(cli_built *bt, uint64_t lineno, jv obj) {
  jv json = jv_object_get(jv_copy(obj), jv_string("json"));
  jv body = jv_object_get(jv_copy(obj), jv_string("body"));
  int rc = 0;
  if (jv_is_valid(json) && jv_is_valid(body)) {
    rc = line_error(bt, lineno, "give \"json\" or \"body\", not both");
  } else if (jv_is_valid(json)) {
    jv s = jv_dump_string(jv_copy(json), 0);
    rc = flurry_request_set_json(bt->req, jv_string_value(s), strlen(jv_string_value(s)));
    jv_free(s);
  } else if (jv_is_valid(body)) {
    if (jv_get_kind(body) != JV_KIND_STRING)
      rc = line_error(bt, lineno, "\"body\" must be a string (use \"json\" for a JSON body)");
    else
      rc = flurry_request_set_body(bt->req, jv_string_value(body),
                                   (size_t)jv_string_length_bytes(jv_copy(body)));
  }
  jv_free(json);
  jv_free(body);
  return rc;
}

static int object_timeout(cli_built *bt, uint64_t lineno, jv t) {
  double secs = jv_get_kind(t) == JV_KIND_NUMBER ? jv_number_value(t) : -1;
  jv_free(t);
  if (secs <= 0 || secs > 7 * 24 * 3600)
    return line_error(bt, lineno, "\"timeout\" must be a positive number of seconds");
  int64_t ms = (int64_t)(secs * 1000 + 0.5);
  return flurry_request_set(bt->req, FLURRY_OPT_TIMEOUT_MS, ms < 1 ? 1 : ms);
}

/* The URL of a line (or of an object's "url"), with the page's next link
 * or variable. */
static int page_url(const cli_src *src, const char *url, size_t len, fl_buf *out) {
  int rc = src->url ? fl_buf_puts(out, src->url) : fl_buf_append(out, url, len);
  if (rc != FL_OK)
    return FLURRY_ENOMEM;
  return src->url ? 0 : append_var(out, src);
}

/* A JSON request object: {"id","method","url","headers","query","json"|"body","timeout"}. */
static int build_object(const cli_src *src, jv obj, uint64_t lineno, cli_built *bt) {
  jv id = jv_object_get(jv_copy(obj), jv_string("id"));
  if (jv_is_valid(id) && jv_get_kind(id) != JV_KIND_NULL) {
    jv s = jv_dump_string(jv_copy(id), 0);
    fl_free(bt->id_json);
    bt->id_json = fl_strdup(jv_string_value(s));
    set_explicit_id(bt, jv_string_value(s));
    jv_free(s);
  }
  jv_free(id);
  int rc = check_fields(bt, lineno, obj);
  jv url = jv_object_get(jv_copy(obj), jv_string("url"));
  jv method = jv_object_get(jv_copy(obj), jv_string("method"));
  int has_body = jv_object_has(jv_copy(obj), jv_string("json")) ||
                 jv_object_has(jv_copy(obj), jv_string("body"));
  if (rc == 0 && bt->error == NULL) {
    fl_buf u = FL_BUF_INIT(0);
    if (jv_get_kind(url) != JV_KIND_STRING)
      rc = line_error(bt, lineno, "\"url\" is missing or not a string");
    else if (jv_is_valid(method) && jv_get_kind(method) != JV_KIND_STRING)
      rc = line_error(bt, lineno, "\"method\" must be a string");
    else if (jv_has_nul(url) || (jv_is_valid(method) && jv_has_nul(method)))
      rc = line_error(bt, lineno, "NUL byte in \"url\" or \"method\"");
    else if ((rc = page_url(src, jv_string_value(url), strlen(jv_string_value(url)), &u)) == 0)
      rc = new_request(bt, lineno,
                       jv_is_valid(method) ? jv_string_value(method)
                                           : level_method(src->lv, has_body),
                       u.data);
    fl_buf_free(&u);
  }
  jv_free(url);
  jv_free(method);
  jv h = jv_object_get(jv_copy(obj), jv_string("headers"));
  if (rc == 0 && bt->req && jv_is_valid(h))
    rc = object_headers(bt, lineno, jv_copy(h), src);
  jv_free(h);
  jv q = jv_object_get(jv_copy(obj), jv_string("query"));
  if (rc == 0 && bt->req && jv_is_valid(q) && src->url == NULL) /* a next link has it all */
    rc = object_query(bt, lineno, jv_copy(q));
  jv_free(q);
  if (rc == 0 && bt->req)
    rc = object_body(bt, lineno, obj);
  jv t = jv_object_get(jv_copy(obj), jv_string("timeout"));
  if (rc == 0 && bt->req && jv_is_valid(t))
    rc = object_timeout(bt, lineno, jv_copy(t));
  jv_free(t);
  if (rc == 0 && bt->req) { /* no id: the whole object, keys sorted, is the identity */
    jv canon = jv_dump_string(jv_copy(obj), JV_PRINT_SORTED);
    set_key(bt, jv_string_value(canon), strlen(jv_string_value(canon)));
    jv_free(canon);
  }
  return rc;
}

static int build_line(const cli_src *src, uint64_t lineno, cli_built *bt) {
  const char *line = src->text;
  size_t len = src->len;
  if (len > 0 && line[0] == '{') {
    jv obj = cli_jv_parse(line, len);
    int rc;
    if (jv_get_kind(obj) == JV_KIND_OBJECT) {
      rc = build_object(src, obj, lineno, bt);
    } else {
      jv msg = jv_invalid_get_msg(jv_copy(obj));
      rc = line_error(bt, lineno, "not a JSON request object: %s",
                      jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "not an object");
      jv_free(msg);
    }
    jv_free(obj);
    return rc;
  }
  if (memchr(line, '\0', len) != NULL)
    return line_error(bt, lineno, "NUL byte in the URL");
  fl_buf url = FL_BUF_INIT(0);
  if (page_url(src, line, len, &url) != 0) {
    fl_buf_free(&url);
    return FLURRY_ENOMEM;
  }
  const cli_level *lv = src->lv;
  int rc = new_request(bt, lineno, level_method(lv, lv->data != NULL), url.data);
  fl_buf_free(&url);
  if (rc == 0 && bt->req && lv->data)
    rc = set_body(bt, lineno, lv->data, strlen(lv->data), lv->data_is_json);
  if (rc == 0 && bt->req)
    set_key(bt, lv->data ? lv->data : "", lv->data ? strlen(lv->data) : 0);
  return rc;
}

/* --join: the line is only an identity (its parts have their templates). */
static int build_identity(const cli_src *src, cli_built *bt) {
  if (src->len > 0 && src->text[0] == '{') {
    jv obj = cli_jv_parse(src->text, src->len);
    if (jv_get_kind(obj) == JV_KIND_OBJECT)
      take_line_id(bt, obj);
    jv_free(obj);
  }
  bt->method = fl_strdup("");
  bt->url = fl_strdup("");
  return bt->method && bt->url && bt->id_json ? 0 : FLURRY_ENOMEM;
}

int cli_build_src(cli_builder *b, const cli_src *src_in, uint64_t lineno, cli_built *bt) {
  cli_src own = *src_in;
  own.client = b->client;
  const cli_src *src = &own;
  memset(bt, 0, sizeof *bt);
  bt->line = lineno;
  /* a bad line: its text */
  bt->key = fl_hash_mix(fl_hash(FL_HASH_INIT ^ 0x2b, src->text, src->len));
  bt->req_key = bt->key;
  if (set_id_line(bt, lineno) != 0)
    return FLURRY_ENOMEM;
  int rc;
  /* An error before the request exists still gets method and url (below):
   * without them run.c would take the line for out of memory. */
  if (src->len > (size_t)INT32_MAX)
    rc = line_error(bt, lineno, "line too long");
  else if (b->o->njoins && src->lv == b->level0)
    return build_identity(src, bt);
  else if (src->lv->template_url && memchr(src->text, '\0', src->len) != NULL)
    rc = line_error(bt, lineno, "NUL byte in the input line");
  else if (src->lv->template_url)
    rc = build_template(src, lineno, bt);
  else
    rc = build_line(src, lineno, bt);
  if (rc == FLURRY_EINVALID)
    rc = line_error(bt, lineno, "invalid request option");
  if (rc == 0 && bt->method == NULL) { /* failed before a request existed */
    bt->method = fl_strdup(level_method(src->lv, src->lv->data != NULL)); /* the one it was */
    bt->url = fl_strdup("");
  }
  return rc == FLURRY_ENOMEM ? rc : 0;
}

int cli_build(cli_builder *b, const char *line, size_t len, uint64_t lineno, cli_built *bt) {
  cli_src src = {.lv = b->level0, .text = line, .len = len, .value = jv_invalid()};
  return cli_build_src(b, &src, lineno, bt);
}

/* A part of --join: its own template, the line's values. */
int cli_build_part(cli_builder *b, const cli_level *lv, const char *line, size_t len,
                   uint64_t lineno, cli_built *bt) {
  cli_src src = {.lv = lv, .text = line, .len = len, .value = jv_invalid()};
  return cli_build_src(b, &src, lineno, bt);
}
