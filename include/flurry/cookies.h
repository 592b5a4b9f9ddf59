/* flurry/cookies.h: a client that remembers cookies, as a browser session
 * (or aiohttp's and httpx's clients) does: log in, then call.
 *
 * The jar is libcurl's cookie engine, one per client, shared by all the
 * client's transfers (a CURLSH share of CURL_LOCK_DATA_COOKIE): RFC 6265's
 * domain, path, Secure, HttpOnly and expiry rules are libcurl's. A cookie
 * goes only to the site (host name) that set it or that its Domain
 * attribute names, never to another, also after a redirect. A response's
 * Set-Cookie is stored whatever its status, redirects included.
 *
 * Cookie and Set-Cookie are credentials (flurry_header_is_secret): a
 * program that writes headers out masks them. The jar file holds the
 * cookies in the clear: it is written with mode 0600.
 *
 * The engine is off by default. FLURRY_OPT_COOKIES = 1 (flurry_client_set)
 * turns it on with an empty jar in memory; flurry_client_load_cookies
 * turns it on and fills the jar from a file. Once on it stays on for the
 * client's life. Turn it on before submitting: a request already running
 * neither sends nor stores cookies. */
#ifndef FLURRY_COOKIES_H
#define FLURRY_COOKIES_H

#include "flurry/client.h"
#include "flurry/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Turns the cookie engine on and loads the cookies of the file at `path`
 * (curl's Netscape cookie-file format, as `curl -c` writes it; a file of
 * Set-Cookie: lines is read too). A file that does not exist is an empty
 * jar. The path is not kept: flurry_client_save_cookies writes the jar.
 * Returns 0, FLURRY_EINVALID (NULL, or the file exists but is not a
 * readable regular file; errno says why), FLURRY_ENOMEM or
 * FLURRY_EINTERNAL (libcurl has no cookie support). */
FLURRY_API int flurry_client_load_cookies(flurry_client *client, const char *path);

/* Writes every cookie of the jar, session cookies included, to the file
 * at `path` in curl's Netscape format: to `path`.tmp (mode 0600), then
 * renamed over `path`, so a reader never sees half a file. Returns 0,
 * FLURRY_EINVALID (NULL, the engine is off, or the file cannot be
 * written; errno says why) or FLURRY_ENOMEM. */
FLURRY_API int flurry_client_save_cookies(flurry_client *client, const char *path);

/* Sends the cookie name=value (both copied) with every request of the
 * client, in the one Cookie header with the jar's (curl's -b NAME=VALUE).
 * Like the Authorization header it is sent to each request's own origin
 * and never to another one: not after a redirect to another origin, not
 * to a page at another origin (flurry/paginate.h). Works with the engine
 * on or off; the jar does not store it. Returns 0, FLURRY_EINVALID (name
 * not an HTTP token; value with a control character, a space, '"' but
 * around the whole value, ',', ';' or '\\'; more than 8 KiB in all) or
 * FLURRY_ENOMEM. */
FLURRY_API int flurry_client_add_cookie(flurry_client *client, const char *name, const char *value);

#ifdef __cplusplus
}
#endif
#endif
