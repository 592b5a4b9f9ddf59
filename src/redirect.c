/* redirect.c: flurry follows redirects itself (CURLOPT_FOLLOWLOCATION is
 * off), hop by hop, because libcurl strips only Authorization and Cookie
 * on a cross-host redirect and would send a custom credential header
 * (X-Api-Key) to wherever a server points. The policy:
 *   - another origin (scheme, host or port differ): no secret header
 *     (secret.c), no URL userinfo; they stay off for the later hops;
 *   - https -> http is refused, and so is any scheme but http(s);
 *   - more hops than FLURRY_OPT_MAX_REDIRECTS end the request;
 *   - 303 (and 301/302 after a POST) continue as GET without the body.
 * All three refusals are FLURRY_EPROTOCOL with a detail (redirect_downgrade,
 * redirect_scheme, too_many_redirects). The hops of one attempt share its
 * timeout and are not attempts of their own: a retry starts again from the
 * request's URL. */
#include <string.h>

#include "opt_int.h"
#include "redirect_int.h"
#include "request_int.h"
#include "response_int.h"
#include "secret_int.h"
#include "url_int.h"

static int is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

typedef struct origin {
  char *scheme, *host;
} origin;

static void origin_free(origin *o) {
  curl_free(o->scheme);
  curl_free(o->host);
}

/* Parses url into u and its scheme and host; 0, or -1 when it is not a URL. */
static int origin_of(CURLU *u, const char *url, origin *o) {
  memset(o, 0, sizeof *o);
  if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return -1;
  if (curl_url_get(u, CURLUPART_SCHEME, &o->scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &o->host, 0) != CURLUE_OK) {
    origin_free(o);
    return -1;
  }
  return 0;
}

/* The list of headers in force without the secret ones and Host
 * (hop_headers). */
static int strip_secrets(flurry_client *c, flurry_request *req) {
  const struct curl_slist *in = flurry__hop_headers(c, req);
  struct curl_slist *out = NULL;
  for (; in; in = in->next) {
    size_t n = strcspn(in->data, ":;");
    if (flurry__header_is_secret(c, in->data, n) || (n == 4 && fl_strncaseeq(in->data, "Host", 4)))
      continue; /* a custom Host names the first origin */
    struct curl_slist *l = curl_slist_append(out, in->data);
    if (l == NULL) {
      curl_slist_free_all(out);
      return FLURRY_ENOMEM;
    }
    out = l;
  }
  if (out == NULL) /* every header was secret: an empty list would mean "the defaults" */
    out = curl_slist_append(NULL, "Expect:");
  if (out == NULL)
    return FLURRY_ENOMEM;
  curl_slist_free_all(req->hop_headers);
  req->hop_headers = out;
  return FLURRY_OK;
}

static int refuse(flurry_response *resp, int detail, const char *msg) {
  flurry__response_set_error(resp, FLURRY_EPROTOCOL, "%s", msg);
  resp->detail = detail;
  return 0;
}

/* Checks the next hop and sets it up (hop_url, hop_headers). 1: go on;
 * 0: the response stays as it is (not a redirect, or refused with resp's
 * error set). */
static int next_hop(flurry_client *c, flurry_request *req, const char *from, const char *to) {
  flurry_response *resp = req->resp;
  CURLU *u_from = curl_url(), *u_to = curl_url();
  origin a, b;
  int rc = 0, oa = -1, ob = -1;
  char *next = NULL;
  if (u_from == NULL || u_to == NULL) {
    flurry__response_set_error(resp, FLURRY_ENOMEM, "out of memory following a redirect");
    goto done;
  }
  oa = origin_of(u_from, from, &a);
  ob = origin_of(u_to, to, &b);
  if (oa != 0 || ob != 0 || b.host[0] == '\0') {
    refuse(resp, FLURRY_DETAIL_REDIRECT_SCHEME,
           "refused a redirect to something that is not an http(s) URL");
    goto done;
  }
  if (!fl_strcaseeq(b.scheme, "http") && !fl_strcaseeq(b.scheme, "https")) {
    refuse(resp, FLURRY_DETAIL_REDIRECT_SCHEME, "refused a redirect to a non-HTTP scheme");
    goto done;
  }
  if (fl_strcaseeq(a.scheme, "https") && fl_strcaseeq(b.scheme, "http")) {
    refuse(resp, FLURRY_DETAIL_REDIRECT_DOWNGRADE, "refused a redirect from https to http");
    goto done;
  }
  int cross = !flurry__curlu_same_origin(u_from, u_to);
  if (cross && (curl_url_set(u_to, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
                curl_url_set(u_to, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
                strip_secrets(c, req) != FLURRY_OK)) {
    flurry__response_set_error(resp, FLURRY_ENOMEM, "out of memory following a redirect");
    goto done;
  }
  char *copy = NULL;
  if (curl_url_get(u_to, CURLUPART_URL, &next, 0) != CURLUE_OK ||
      (copy = fl_strdup(next)) == NULL) {
    flurry__response_set_error(resp, FLURRY_ENOMEM, "out of memory following a redirect");
    goto done;
  }
  fl_free(req->hop_url);
  req->hop_url = copy;
  rc = 1;
done:
  if (oa == 0)
    origin_free(&a);
  if (ob == 0)
    origin_free(&b);
  curl_free(next);
  curl_url_cleanup(u_from);
  curl_url_cleanup(u_to);
  return rc;
}

int flurry__redirect_next(flurry_client *c, flurry_request *req, CURL *e, CURLcode result) {
  flurry_response *resp = req->resp;
  int64_t max = flurry__opt(req, &c->opts, FLURRY_OPT_MAX_REDIRECTS);
  if (result != CURLE_OK || max == 0 || !is_redirect(resp->status))
    return 0;
  char *to = NULL;
  curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &to);
  if (to == NULL) {
    if (flurry_response_header(resp, "Location") != NULL)
      return refuse(resp, FLURRY_DETAIL_REDIRECT_SCHEME,
                    "refused a redirect to something that is not an http(s) URL");
    return 0; /* no Location: the 3xx is the answer */
  }
  if (req->hops >= max) {
    flurry__response_set_error(resp, FLURRY_EPROTOCOL, "stopped after %lld redirects (the maximum)",
                               (long long)max);
    resp->detail = FLURRY_DETAIL_TOO_MANY_REDIRECTS;
    return 0;
  }
  if (!next_hop(c, req, flurry__attempt_url(req), to))
    return 0;
  req->hops++;
  if (resp->status == 303 ? strcmp(req->method, "HEAD") != 0
                          : resp->status <= 302 && strcmp(req->method, "POST") == 0)
    req->hop_get = 1;
  req->hop_pending = 1;
  return 1;
}

void flurry__redirect_reset(flurry_request *req) {
  fl_free(req->hop_url);
  req->hop_url = NULL;
  curl_slist_free_all(req->hop_headers);
  req->hop_headers = NULL;
  req->hops = 0;
  req->hop_get = 0;
  req->hop_pending = 0;
}

const char *flurry__attempt_url(const flurry_request *req) {
  return req->hop_url ? req->hop_url : flurry__target_url(req);
}

const struct curl_slist *flurry__hop_headers(const flurry_client *c, const flurry_request *req) {
  return req->hop_headers ? req->hop_headers : req->send_headers ? req->send_headers : c->headers;
}
