/* _flurry.c: the CPython extension under the flurry package: an Engine
 * (one flurry_client on its own libuv loop) and a Response (one request,
 * pending then complete), over the public API only (include/flurry/).
 *
 * The boundary is built for speed: a submit makes one Python object (the
 * Response, returned at once and filled in later); completion does no
 * Python call at all: the done callback links the Response into the
 * engine's done list in C, and run()/wait() hand the finished ones back as
 * one flat list [token, response, token, response, ...]. Everything but
 * the status is read lazily from the flurry_response the object holds.
 *
 * Driving (python/flurry/_aio.py): an asyncio loop watches
 * uv_backend_fd() with add_reader and uv_backend_timeout() with call_at,
 * and calls run() (uv_run UV_RUN_NOWAIT) when either fires. The sync
 * Client calls wait(), which runs the uv loop with the GIL released; the
 * record callback of a stream, the one callback that makes Python
 * objects, takes the GIL back while it runs.
 *
 * Threads: an engine belongs to the thread that made it; every method
 * called from another one raises RuntimeError. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <poll.h>
#include <string.h>

#include "flurry.h"

typedef struct EngineObject EngineObject;

enum { SUBMIT_PAGINATE = -1 }; /* submit's mode for a Link-paginated chain */

typedef struct ResponseObject {
  PyObject_HEAD flurry_response *resp; /* NULL while pending */
  flurry_request *req;                 /* while pending */
  EngineObject *engine;                /* strong, while pending */
  PyObject *token;                     /* handed back with the response */
  PyObject *content;                   /* bytes, made on first use */
  PyObject *records;                   /* a stream's records not yet taken */
  PyObject *cache;                     /* for the Python layer (headers) */
  struct ResponseObject *next_done;    /* on the engine's done list */
  int queued;                          /* on the done list (done or records) */
  int stream_stop;                     /* a stream: stop at the next record */
  int ended;                           /* a chain: its on_end ran */
} ResponseObject;

struct EngineObject {
  PyObject_HEAD flurry_client *client;
  uv_loop_t *loop;
  PyTypeObject *resp_type;
  unsigned long thread;
  PyThreadState *released; /* wait(): the GIL is released, this thread's state */
  int waiting;             /* inside wait(): stop the loop at the first result */
  size_t pending;          /* responses submitted, not yet handed back */
  size_t ws_open;          /* WebSockets whose on_close has not run */
  ResponseObject *done_head, *done_tail;
  PyObject *rec_type, *rec_value, *rec_tb; /* an exception raised making a record */
};

static PyTypeObject Engine_Type;
static PyTypeObject Response_Type;
static PyObject *FlurryError; /* _flurry.error: raised for library refusals */
/* Raised for a request the library refuses (bad URL, method, header):
 * flurry.InvalidRequestError once the package set it, a ValueError. */
static PyObject *InvalidRequest;

/* ---- helpers ---- */

static int engine_check(EngineObject *e) {
  if (e->client == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "flurry: the client is closed");
    return -1;
  }
  if (PyThread_get_thread_ident() != e->thread) {
    PyErr_SetString(PyExc_RuntimeError,
                    "flurry: a client belongs to the thread (and event loop) that created it; "
                    "create one client per thread");
    return -1;
  }
  return 0;
}

/* Raises for a library refusal: ValueError for FLURRY_EINVALID, MemoryError
 * for FLURRY_ENOMEM, _flurry.error otherwise. Returns NULL. */
static PyObject *raise_rc(int rc, const char *what) {
  if (rc == FLURRY_ENOMEM)
    return PyErr_NoMemory();
  PyObject *type = rc == FLURRY_EINVALID ? PyExc_ValueError : FlurryError;
  return PyErr_Format(type, "%s: %s", what, flurry_strerror(rc));
}

static void done_push(EngineObject *e, ResponseObject *r) {
  r->queued = 1;
  r->next_done = NULL;
  if (e->done_tail)
    e->done_tail->next_done = r;
  else
    e->done_head = r;
  e->done_tail = r;
}

/* The done list as [token, response, ...]; each complete response's
 * in-flight reference goes to the list. */
static PyObject *done_take(EngineObject *e) {
  Py_ssize_t n = 0;
  for (ResponseObject *r = e->done_head; r; r = r->next_done)
    n += 2;
  PyObject *out = PyList_New(n);
  if (out == NULL)
    return NULL;
  Py_ssize_t i = 0;
  while (e->done_head) {
    ResponseObject *r = e->done_head;
    e->done_head = r->next_done;
    r->next_done = NULL;
    r->queued = 0;
    PyObject *tok = r->token ? r->token : Py_None;
    Py_INCREF(tok);
    PyList_SET_ITEM(out, i++, tok);
    if (r->resp || r->ended) { /* complete: the token goes with it, the reference too */
      Py_CLEAR(r->token);
      e->pending--;
    } else { /* records of a running stream */
      Py_INCREF(r);
    }
    PyList_SET_ITEM(out, i++, (PyObject *)r);
  }
  e->done_tail = NULL;
  return out;
}

/* ---- callbacks (no Python call unless a stream record) ---- */

static void on_done(flurry_request *req, flurry_response *resp, void *ud) {
  ResponseObject *r = ud;
  EngineObject *e = r->engine;
  (void)req;
  r->resp = resp;
  r->req = NULL;
  if (!r->queued)
    done_push(e, r);
  if (e->waiting)
    uv_stop(e->loop);
}

static PyThreadState *gil_take(EngineObject *e);
static void gil_give(EngineObject *e, PyThreadState *ts);
static void keep_error(EngineObject *e);

/* With the GIL (taken back when wait() released it). */
static int add_record(ResponseObject *r, const flurry_stream_record *rec) {
  PyObject *data = PyBytes_FromStringAndSize(rec->data, (Py_ssize_t)rec->len);
  if (data == NULL)
    return -1;
  PyObject *item = data;
  if (rec->event) { /* SSE: (data, event, id, retry) */
    item = Py_BuildValue("(Nssl)", data, rec->event, rec->id ? rec->id : "", (long)rec->retry_ms);
    if (item == NULL)
      return -1;
  }
  if (r->records == NULL && (r->records = PyList_New(0)) == NULL) {
    Py_DECREF(item);
    return -1;
  }
  int rc = PyList_Append(r->records, item);
  Py_DECREF(item);
  return rc;
}

static int on_record(flurry_request *req, const flurry_stream_record *rec, void *ud) {
  ResponseObject *r = ud;
  EngineObject *e = r->engine;
  (void)req;
  if (r->stream_stop)
    return 1;
  PyThreadState *ts = gil_take(e);
  int stop = 0;
  if (add_record(r, rec) != 0) {
    keep_error(e);
    stop = 1;
  }
  if (!r->queued)
    done_push(e, r);
  if (e->waiting)
    uv_stop(e->loop);
  gil_give(e, ts);
  return stop;
}

/* ---- pagination: one Response per page, handed over with the chain's ---- */

/* Takes the GIL back when wait() released it; returns what to give back. */
static PyThreadState *gil_take(EngineObject *e) {
  PyThreadState *ts = e->released;
  if (ts) {
    e->released = NULL;
    PyEval_RestoreThread(ts);
  }
  return ts;
}

static void gil_give(EngineObject *e, PyThreadState *ts) {
  if (ts)
    e->released = PyEval_SaveThread();
}

static void keep_error(EngineObject *e) {
  if (e->rec_type == NULL)
    PyErr_Fetch(&e->rec_type, &e->rec_value, &e->rec_tb);
  else
    PyErr_Clear();
}

static void on_page(flurry_request *req, flurry_response *resp, void *ud) {
  ResponseObject *r = ud; /* the chain's */
  EngineObject *e = r->engine;
  PyThreadState *ts = gil_take(e);
  if (req == r->req)
    r->req = NULL; /* page 1 is freed after this */
  ResponseObject *p = (ResponseObject *)e->resp_type->tp_alloc(e->resp_type, 0);
  if (p == NULL) {
    flurry_response_free(resp);
    keep_error(e);
  } else {
    p->resp = resp;
    if ((r->records == NULL && (r->records = PyList_New(0)) == NULL) ||
        PyList_Append(r->records, (PyObject *)p) != 0)
      keep_error(e);
    Py_DECREF(p);
  }
  if (r->stream_stop)
    flurry_request_chain_stop(req);
  if (!r->queued)
    done_push(e, r);
  if (e->waiting)
    uv_stop(e->loop);
  gil_give(e, ts);
}

static void on_chain_end(const flurry_chain_end *end, void *ud) {
  ResponseObject *r = ud;
  EngineObject *e = r->engine;
  PyThreadState *ts = gil_take(e);
  r->ended = 1;
  r->req = NULL;
  Py_XDECREF(r->cache);
  r->cache = Py_BuildValue("(sssL)", flurry_err_name(end->error), flurry_detail_name(end->detail),
                           end->message ? end->message : "", (long long)end->pages);
  if (r->cache == NULL)
    keep_error(e);
  if (!r->queued)
    done_push(e, r);
  if (e->waiting)
    uv_stop(e->loop);
  gil_give(e, ts);
}

/* ---- Response ---- */

static void Response_dealloc(ResponseObject *r) {
  /* Never pending here: the engine holds a reference until it hands it back. */
  flurry_response_free(r->resp);
  Py_XDECREF(r->token);
  Py_XDECREF(r->content);
  Py_XDECREF(r->records);
  Py_XDECREF(r->cache);
  Py_XDECREF(r->engine);
  Py_TYPE(r)->tp_free((PyObject *)r);
}

static int resp_ready(ResponseObject *r) {
  if (r->resp)
    return 0;
  PyErr_SetString(PyExc_RuntimeError, "flurry: the response is not complete yet");
  return -1;
}

static PyObject *Response_get_status(ResponseObject *r, void *c) {
  (void)c;
  return PyLong_FromLong(r->resp ? flurry_response_status(r->resp) : 0);
}

static PyObject *Response_get_done(ResponseObject *r, void *c) {
  (void)c;
  return PyBool_FromLong(r->resp != NULL || r->ended);
}

static PyObject *Response_get_error_code(ResponseObject *r, void *c) {
  (void)c;
  return PyLong_FromLong(r->resp ? flurry_response_error(r->resp) : 0);
}

#define RESP_STR_GETTER(fname, expr)                                                               \
  static PyObject *Response_get_##fname(ResponseObject *r, void *c) {                              \
    (void)c;                                                                                       \
    if (resp_ready(r) != 0)                                                                        \
      return NULL;                                                                                 \
    return PyUnicode_DecodeUTF8((expr), (Py_ssize_t)strlen(expr), "replace");                      \
  }

RESP_STR_GETTER(reason, flurry_response_reason(r->resp))
RESP_STR_GETTER(url, flurry_response_effective_url(r->resp))
RESP_STR_GETTER(message, flurry_response_error_message(r->resp))
RESP_STR_GETTER(detail, flurry_response_error_detail(r->resp))
RESP_STR_GETTER(kind, flurry_err_name(flurry_response_error(r->resp)))

static PyObject *Response_get_attempts(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  return PyLong_FromLong(flurry_response_attempts(r->resp));
}

/* Where the answer came from, with a cache: "hit", "revalidated", "miss",
 * "stale", "bypass"; None without one. */
static PyObject *Response_get_cache(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  int cs = flurry_response_cache(r->resp);
  if (cs == FLURRY_CACHE_NONE)
    Py_RETURN_NONE;
  return PyUnicode_FromString(flurry_cache_status_name(cs));
}

static PyObject *Response_get_curl_code(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  return PyLong_FromLong(flurry_response_curl_code(r->resp));
}

static PyObject *Response_get_os_errno(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  return PyLong_FromLong(flurry_response_os_errno(r->resp));
}

static PyObject *Response_get_content(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  if (r->content == NULL) {
    size_t len = 0;
    const char *body = flurry_response_body(r->resp, &len);
    r->content = PyBytes_FromStringAndSize(body, (Py_ssize_t)len);
    if (r->content == NULL)
      return NULL;
  }
  Py_INCREF(r->content);
  return r->content;
}

/* The body decoded as UTF-8, strictly (UnicodeDecodeError otherwise):
 * straight from the C buffer, no bytes object in between (json()). */
static PyObject *Response_utf8(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (resp_ready(r) != 0)
    return NULL;
  size_t len = 0;
  const char *body = flurry_response_body(r->resp, &len);
  return PyUnicode_DecodeUTF8(body, (Py_ssize_t)len, NULL);
}

static PyObject *Response_get_elapsed(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  flurry_timings t;
  flurry_response_timings(r->resp, &t);
  return PyFloat_FromDouble(t.elapsed_ms / 1000.0);
}

static PyObject *Response_get_timings(ResponseObject *r, void *c) {
  (void)c;
  if (resp_ready(r) != 0)
    return NULL;
  flurry_timings t;
  flurry_response_timings(r->resp, &t);
  return Py_BuildValue("{sdsdsdsdsdsd}", "dns", t.dns_ms / 1000.0, "connect", t.connect_ms / 1000.0,
                       "tls", t.tls_ms / 1000.0, "first_byte", t.first_byte_ms / 1000.0, "total",
                       t.total_ms / 1000.0, "elapsed", t.elapsed_ms / 1000.0);
}

static PyObject *Response_header_list(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (resp_ready(r) != 0)
    return NULL;
  PyObject *out = PyList_New(0);
  if (out == NULL)
    return NULL;
  size_t cur = 0;
  const char *name, *value;
  while (flurry_response_header_next(r->resp, &cur, &name, &value)) {
    PyObject *pair = Py_BuildValue("(ss)", name, value);
    if (pair == NULL || PyList_Append(out, pair) != 0) {
      Py_XDECREF(pair);
      Py_DECREF(out);
      return NULL;
    }
    Py_DECREF(pair);
  }
  return out;
}

static PyObject *Response_header(ResponseObject *r, PyObject *arg) {
  if (resp_ready(r) != 0)
    return NULL;
  const char *name = PyUnicode_AsUTF8(arg);
  if (name == NULL)
    return NULL;
  const char *v = flurry_response_header(r->resp, name);
  if (v == NULL)
    Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8(v, (Py_ssize_t)strlen(v), "replace");
}

static PyObject *Response_attempt_list(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (resp_ready(r) != 0)
    return NULL;
  int n = flurry_response_attempts(r->resp);
  PyObject *out = PyList_New(0);
  for (int i = 0; out && i < n; i++) { /* up to 64 kept: the first 63 and the last */
    flurry_attempt a;
    if (flurry_response_attempt(r->resp, (size_t)i, &a) != FLURRY_OK)
      continue;
    PyObject *t = Py_BuildValue("(isdd)", a.status, flurry_err_name(a.error), a.elapsed_ms / 1000.0,
                                a.wait_ms / 1000.0);
    if (t == NULL || PyList_Append(out, t) != 0) {
      Py_XDECREF(t);
      Py_CLEAR(out);
    } else {
      Py_DECREF(t);
    }
  }
  return out;
}

static PyObject *Response_stream_info(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (resp_ready(r) != 0)
    return NULL;
  flurry_stream_info si;
  if (flurry_response_stream(r->resp, &si) != FLURRY_OK)
    Py_RETURN_NONE;
  return Py_BuildValue("(Kis)", (unsigned long long)si.records, si.reconnects,
                       flurry_stream_end_name(si.end));
}

/* The records made since the last call (a list), or None. */
static PyObject *Response_take_records(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (r->records == NULL)
    Py_RETURN_NONE;
  PyObject *out = r->records;
  r->records = NULL;
  return out;
}

/* Cancels the request in the engine if it is still pending: its result
 * (cancelled) comes back through the done list. Returns True when it was
 * pending. */
static PyObject *Response_cancel(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (r->req == NULL && !r->ended && r->resp == NULL)
    r->stream_stop = 1; /* a chain past page 1: it stops at its next page */
  if (r->req == NULL || r->engine == NULL)
    Py_RETURN_FALSE;
  if (engine_check(r->engine) != 0)
    return NULL;
  int rc = flurry_request_cancel(r->req);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "cancel");
  Py_RETURN_TRUE;
}

/* A stream: _pause(True) stops reading (flurry_request_pause), _pause(False)
 * reads on. False when the stream is not running (nothing to pause). */
static PyObject *Response_pause(ResponseObject *r, PyObject *arg) {
  int paused = PyObject_IsTrue(arg);
  if (paused < 0)
    return NULL;
  if (r->req == NULL || r->engine == NULL)
    Py_RETURN_FALSE;
  if (engine_check(r->engine) != 0)
    return NULL;
  return PyBool_FromLong(flurry_request_pause(r->req, paused) == FLURRY_OK);
}

/* Records received and not yet taken. */
static PyObject *Response_backlog(ResponseObject *r, PyObject *unused) {
  (void)unused;
  return PyLong_FromSsize_t(r->records ? PyList_GET_SIZE(r->records) : 0);
}

/* A stream: stop at the next record (complete, not cancelled). */
static PyObject *Response_stop(ResponseObject *r, PyObject *unused) {
  (void)unused;
  r->stream_stop = 1;
  Py_RETURN_NONE;
}

/* A chain: None while it runs, then (kind, detail, message, pages). */
static PyObject *Response_ended(ResponseObject *r, PyObject *unused) {
  (void)unused;
  if (!r->ended || r->cache == NULL)
    Py_RETURN_NONE;
  Py_INCREF(r->cache);
  return r->cache;
}

static PyGetSetDef Response_getset[] = {
    {"status", (getter)Response_get_status, NULL, "HTTP status (0 when none arrived).", NULL},
    {"reason", (getter)Response_get_reason, NULL, "Reason phrase (\"\" for HTTP/2).", NULL},
    {"url", (getter)Response_get_url, NULL, "Effective URL, after redirects.", NULL},
    {"content", (getter)Response_get_content, NULL, "The body, bytes.", NULL},
    {"elapsed", (getter)Response_get_elapsed, NULL, "Seconds from the first attempt to completion.",
     NULL},
    {"attempts", (getter)Response_get_attempts, NULL, "Attempts made (1 = no retry).", NULL},
    {"cache", (getter)Response_get_cache, NULL,
     "With a cache: hit, revalidated, miss, stale or bypass; else None.", NULL},
    {"timings", (getter)Response_get_timings, NULL, "Phases of the last attempt, seconds (dict).",
     NULL},
    {"error_code", (getter)Response_get_error_code, NULL, "0, or the flurry error code.", NULL},
    {"kind", (getter)Response_get_kind, NULL, "\"ok\" or the error kind name.", NULL},
    {"detail", (getter)Response_get_detail, NULL, "Detail word refining the error kind.", NULL},
    {"message", (getter)Response_get_message, NULL, "One-line error description.", NULL},
    {"curl_code", (getter)Response_get_curl_code, NULL, "libcurl's CURLcode, else 0.", NULL},
    {"os_errno", (getter)Response_get_os_errno, NULL, "The OS errno, else 0.", NULL},
    {"done", (getter)Response_get_done, NULL, "True once complete.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef Response_methods[] = {
    {"header_list", (PyCFunction)Response_header_list, METH_NOARGS,
     "The headers as a list of (name, value), in arrival order."},
    {"header", (PyCFunction)Response_header, METH_O,
     "The first header of this name (any case), or None."},
    {"attempt_list", (PyCFunction)Response_attempt_list, METH_NOARGS,
     "Each attempt as (status, kind, elapsed_s, wait_s)."},
    {"stream_info", (PyCFunction)Response_stream_info, METH_NOARGS,
     "(records, reconnects, end) of a stream, or None."},
    {"_take_records", (PyCFunction)Response_take_records, METH_NOARGS, NULL},
    {"_utf8", (PyCFunction)Response_utf8, METH_NOARGS, NULL},
    {"_cancel", (PyCFunction)Response_cancel, METH_NOARGS, NULL},
    {"_stop", (PyCFunction)Response_stop, METH_NOARGS, NULL},
    {"_ended", (PyCFunction)Response_ended, METH_NOARGS, NULL},
    {"_pause", (PyCFunction)Response_pause, METH_O, NULL},
    {"_backlog", (PyCFunction)Response_backlog, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyMemberDef Response_members[] = {{"_cache", T_OBJECT, offsetof(ResponseObject, cache), 0,
                                          NULL},
                                         {NULL, 0, 0, 0, NULL}};

static PyTypeObject Response_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flurry._flurry.Response",
    .tp_basicsize = sizeof(ResponseObject),
    .tp_dealloc = (destructor)Response_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "One request's result (made by the engine; see flurry.Response).",
    .tp_getset = Response_getset,
    .tp_methods = Response_methods,
    .tp_members = Response_members,
};

/* ---- WebSocket: events call token._feed(ws) (rare: a Python call each) ---- */

typedef struct WsObject {
  PyObject_HEAD flurry_ws *ws; /* NULL once closed */
  EngineObject *engine;
  PyObject *token;    /* its _feed(ws) runs on each event */
  PyObject *messages; /* [(is_text, bytes)] not yet taken */
  PyObject *status;   /* (kind, message, code, reason, by_server, http_status) once closed */
  int open;
} WsObject;

static PyTypeObject Ws_Type;

static void ws_feed(WsObject *w) {
  EngineObject *e = w->engine;
  if (w->token == NULL || w->token == Py_None)
    return;
  PyObject *rv = PyObject_CallMethod(w->token, "_feed", "O", (PyObject *)w);
  if (rv == NULL)
    keep_error(e);
  Py_XDECREF(rv);
  if (e->waiting)
    uv_stop(e->loop);
}

static void ws_on_open(flurry_ws *ws, void *ud) {
  WsObject *w = ud;
  (void)ws;
  PyThreadState *ts = gil_take(w->engine);
  w->open = 1;
  ws_feed(w);
  gil_give(w->engine, ts);
}

static void ws_on_message(flurry_ws *ws, flurry_ws_type type, const char *data, size_t len,
                          void *ud) {
  WsObject *w = ud;
  (void)ws;
  PyThreadState *ts = gil_take(w->engine);
  PyObject *m = Py_BuildValue("(Ny#)", PyBool_FromLong(type == FLURRY_WS_TEXT), data,
                              (Py_ssize_t)len);
  if (m == NULL || (w->messages == NULL && (w->messages = PyList_New(0)) == NULL) ||
      PyList_Append(w->messages, m) != 0)
    keep_error(w->engine);
  Py_XDECREF(m);
  ws_feed(w);
  gil_give(w->engine, ts);
}

static void ws_on_close(flurry_ws *ws, const flurry_ws_status *st, void *ud) {
  WsObject *w = ud;
  (void)ws;
  EngineObject *e = w->engine;
  PyThreadState *ts = gil_take(e);
  w->ws = NULL; /* the library frees it after this returns */
  e->ws_open--;
  w->open = 0;
  w->status = Py_BuildValue("(ssis#ii)", flurry_err_name(st->err), st->message, st->code,
                            st->reason, (Py_ssize_t)st->reason_len, st->by_server, st->http_status);
  if (w->status == NULL)
    keep_error(e);
  ws_feed(w);
  Py_DECREF(w); /* the connection's reference */
  gil_give(e, ts);
}

static void Ws_dealloc(WsObject *w) {
  Py_XDECREF(w->token);
  Py_XDECREF(w->messages);
  Py_XDECREF(w->status);
  Py_XDECREF(w->engine);
  Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyObject *Ws_send(WsObject *w, PyObject *args) {
  Py_buffer buf;
  int text;
  if (!PyArg_ParseTuple(args, "y*p", &buf, &text))
    return NULL;
  if (w->ws == NULL || engine_check(w->engine) != 0) {
    PyBuffer_Release(&buf);
    if (!PyErr_Occurred())
      PyErr_SetString(PyExc_RuntimeError, "flurry: the WebSocket is closed");
    return NULL;
  }
  int rc = flurry_ws_send(w->ws, text ? FLURRY_WS_TEXT : FLURRY_WS_BINARY, buf.buf,
                          (size_t)buf.len);
  PyBuffer_Release(&buf);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "WebSocket send (not open yet, closing, or the send queue is full)");
  Py_RETURN_NONE;
}

static PyObject *Ws_close(WsObject *w, PyObject *args) {
  int code = 1000;
  const char *reason = NULL;
  if (!PyArg_ParseTuple(args, "|iz", &code, &reason))
    return NULL;
  if (w->ws == NULL)
    Py_RETURN_FALSE;
  if (engine_check(w->engine) != 0)
    return NULL;
  int rc = flurry_ws_close(w->ws, code, reason);
  if (rc == FLURRY_EINVALID && (code < 1000 || code > 4999))
    return PyErr_Format(PyExc_ValueError, "close code must be 1000..4999 (got %d)", code);
  Py_RETURN_TRUE; /* EINVALID otherwise: already closing */
}

static PyObject *Ws_take(WsObject *w, PyObject *unused) {
  (void)unused;
  if (w->messages == NULL)
    Py_RETURN_NONE;
  PyObject *out = w->messages;
  w->messages = NULL;
  return out;
}

static PyObject *Ws_get_status(WsObject *w, void *c) {
  (void)c;
  PyObject *v = w->status ? w->status : Py_None;
  Py_INCREF(v);
  return v;
}

static PyObject *Ws_get_open(WsObject *w, void *c) {
  (void)c;
  return PyBool_FromLong(w->open);
}

static PyMethodDef Ws_methods[] = {{"send", (PyCFunction)Ws_send, METH_VARARGS,
                                    "send(data: bytes, text: bool)"},
                                   {"close", (PyCFunction)Ws_close, METH_VARARGS,
                                    "close(code=1000, reason=None)"},
                                   {"_take", (PyCFunction)Ws_take, METH_NOARGS, NULL},
                                   {NULL, NULL, 0, NULL}};

static PyGetSetDef Ws_getset[] = {{"status", (getter)Ws_get_status, NULL, "None, or how it closed.",
                                   NULL},
                                  {"open", (getter)Ws_get_open, NULL,
                                   "True once the handshake succeeded, until closed.", NULL},
                                  {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject Ws_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flurry._flurry.WebSocket",
    .tp_basicsize = sizeof(WsObject),
    .tp_dealloc = (destructor)Ws_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A WebSocket connection on an engine (see AsyncClient.websocket).",
    .tp_methods = Ws_methods,
    .tp_getset = Ws_getset,
};

/* ws_connect(url, headers: [str "Name: value"] or None, max_message, token) */
static PyObject *Engine_ws_connect(EngineObject *e, PyObject *args) {
  const char *url;
  PyObject *headers, *token;
  Py_ssize_t max_message;
  if (!PyArg_ParseTuple(args, "sOnO", &url, &headers, &max_message, &token) || engine_check(e) != 0)
    return NULL;
  const char *hv[65] = {NULL};
  PyObject *seq = NULL;
  if (headers != Py_None) {
    seq = PySequence_Fast(headers, "headers must be a sequence of 'Name: value' strings");
    if (seq == NULL)
      return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > 64) {
      Py_DECREF(seq);
      return PyErr_Format(PyExc_ValueError, "at most 64 headers (got %zd)", n);
    }
    for (Py_ssize_t i = 0; i < n; i++)
      if ((hv[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i))) == NULL) {
        Py_DECREF(seq);
        return NULL;
      }
  }
  WsObject *w = PyObject_New(WsObject, &Ws_Type);
  if (w == NULL) {
    Py_XDECREF(seq);
    return NULL;
  }
  w->ws = NULL;
  w->messages = w->status = NULL;
  w->open = 0;
  Py_INCREF(e);
  w->engine = e;
  Py_INCREF(token);
  w->token = token;
  flurry_ws_opts o;
  flurry_ws_opts_init(&o);
  o.max_message = max_message > 0 ? (size_t)max_message : 0;
  flurry_ws_callbacks cbs = {ws_on_open, ws_on_message, NULL, ws_on_close};
  int rc = flurry_ws_connect(&w->ws, e->client, url, hv, &o, &cbs, w);
  Py_XDECREF(seq);
  if (rc != FLURRY_OK) {
    Py_DECREF(w);
    if (rc == FLURRY_EINVALID)
      return PyErr_Format(PyExc_ValueError, "invalid WebSocket URL or header: %s", url);
    return raise_rc(rc, "websocket");
  }
  Py_INCREF(w); /* the connection's, released after on_close */
  e->ws_open++;
  return (PyObject *)w;
}

/* ---- Engine ---- */

static void engine_release(EngineObject *e) {
  if (e->client) {
    e->waiting = 0;
    flurry_client_free(e->client); /* cancels: each lands on the done list */
    e->client = NULL;
    e->loop = NULL;
  }
  while (e->done_head) {
    ResponseObject *r = e->done_head;
    e->done_head = r->next_done;
    r->queued = 0;
    if (r->resp || r->ended) {
      Py_CLEAR(r->token);
      Py_DECREF(r);
    }
  }
  e->done_tail = NULL;
}

static void Engine_dealloc(EngineObject *e) {
  engine_release(e);
  Py_XDECREF(e->resp_type);
  Py_XDECREF(e->rec_type);
  Py_XDECREF(e->rec_value);
  Py_XDECREF(e->rec_tb);
  Py_TYPE(e)->tp_free((PyObject *)e);
}

static PyObject *Engine_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"response_type", NULL};
  PyObject *rt = (PyObject *)&Response_Type;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O!", kwlist, &PyType_Type, &rt))
    return NULL;
  if (!PyType_IsSubtype((PyTypeObject *)rt, &Response_Type))
    return PyErr_Format(PyExc_TypeError, "response_type must be a subclass of %s",
                        Response_Type.tp_name);
  EngineObject *e = (EngineObject *)type->tp_alloc(type, 0);
  if (e == NULL)
    return NULL;
  int rc = flurry_client_new(&e->client, NULL);
  if (rc != FLURRY_OK) {
    Py_DECREF(e);
    return raise_rc(rc, "flurry_client_new");
  }
  e->loop = flurry_client_loop(e->client);
  Py_INCREF(rt);
  e->resp_type = (PyTypeObject *)rt;
  e->thread = PyThread_get_thread_ident();
  return (PyObject *)e;
}

static PyObject *Engine_set_option(EngineObject *e, PyObject *args) {
  int opt;
  long long v;
  if (!PyArg_ParseTuple(args, "iL", &opt, &v) || engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_set(e->client, (flurry_opt)opt, (int64_t)v);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "option");
  Py_RETURN_NONE;
}

static PyObject *Engine_set_base_url(EngineObject *e, PyObject *args) {
  const char *url;
  if (!PyArg_ParseTuple(args, "s", &url) || engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_set_base_url(e->client, url);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "base_url must be an absolute http(s) URL");
  Py_RETURN_NONE;
}

static PyObject *Engine_set_ca_file(EngineObject *e, PyObject *args) {
  const char *path;
  if (!PyArg_ParseTuple(args, "s", &path) || engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_set_ca_file(e->client, path);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "ca_file");
  Py_RETURN_NONE;
}

/* The HTTP cache (flurry/cache.h): a file, or ":memory:". */
static PyObject *Engine_set_cache(EngineObject *e, PyObject *args) {
  const char *path;
  char msg[512];
  if (!PyArg_ParseTuple(args, "s", &path) || engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_set_cache(e->client, path, msg, sizeof msg);
  if (rc == FLURRY_EINVALID)
    return PyErr_Format(PyExc_ValueError, "cache %R: %s", PyTuple_GET_ITEM(args, 0), msg);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "cache");
  Py_RETURN_NONE;
}

static PyObject *Engine_add_header(EngineObject *e, PyObject *args) {
  const char *name, *value;
  if (!PyArg_ParseTuple(args, "ss", &name, &value) || engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_add_header(e->client, name, value);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "header (a name must be a token, a value must hold no CR or LF)");
  Py_RETURN_NONE;
}

static PyObject *Engine_add_secret_header(EngineObject *e, PyObject *args) {
  const char *name;
  if (!PyArg_ParseTuple(args, "s", &name) || engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_add_secret_header(e->client, name);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "secret header name");
  Py_RETURN_NONE;
}

/* Applies headers (a sequence of (name, value) str pairs) to req. */
static int apply_headers(flurry_request *req, PyObject *headers) {
  PyObject *seq = PySequence_Fast(headers, "headers must be a sequence of (name, value) pairs");
  if (seq == NULL)
    return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  for (Py_ssize_t i = 0; i < n; i++) {
    const char *name, *value;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ss;a header is a (str, str) pair",
                          &name, &value)) {
      Py_DECREF(seq);
      return -1;
    }
    int rc = flurry_request_add_header(req, name, value);
    if (rc != FLURRY_OK) {
      Py_DECREF(seq);
      if (rc == FLURRY_EINVALID)
        PyErr_Format(InvalidRequest,
                     "invalid header %R: a name must be an HTTP token and a value must hold "
                     "no CR, LF or other control character",
                     PySequence_Fast_GET_ITEM(seq, i));
      else
        raise_rc(rc, "header");
      return -1;
    }
  }
  Py_DECREF(seq);
  return 0;
}

/* Applies opts (a sequence of (opt, value) int pairs). */
static int apply_opts(flurry_request *req, PyObject *opts) {
  PyObject *seq = PySequence_Fast(opts, "opts must be a sequence of (opt, value) pairs");
  if (seq == NULL)
    return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  for (Py_ssize_t i = 0; i < n; i++) {
    int opt;
    long long v;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iL", &opt, &v)) {
      Py_DECREF(seq);
      return -1;
    }
    int rc = flurry_request_set(req, (flurry_opt)opt, (int64_t)v);
    if (rc != FLURRY_OK) {
      Py_DECREF(seq);
      raise_rc(rc, "request option");
      return -1;
    }
  }
  Py_DECREF(seq);
  return 0;
}

/* Builds the request; NULL with an exception set. */
static flurry_request *build_request(const char *method, const char *url, PyObject *headers,
                                     Py_buffer *body, int is_json, PyObject *opts) {
  flurry_request *req = NULL;
  int rc = flurry_request_new(&req, method, url);
  if (rc != FLURRY_OK) {
    if (rc == FLURRY_EINVALID)
      PyErr_Format(InvalidRequest,
                   "invalid request %s %s: the method must be an HTTP token and the URL must "
                   "hold no space or control character",
                   method, url);
    else
      raise_rc(rc, "request");
    return NULL;
  }
  if (headers != Py_None && apply_headers(req, headers) != 0)
    goto fail;
  if (body->buf) {
    rc = is_json ? flurry_request_set_json(req, body->buf, (size_t)body->len)
                 : flurry_request_set_body(req, body->buf, (size_t)body->len);
    if (rc != FLURRY_OK) {
      raise_rc(rc, "body");
      goto fail;
    }
  }
  if (opts != Py_None && apply_opts(req, opts) != 0)
    goto fail;
  return req;
fail:
  flurry_request_free(req);
  return NULL;
}

/* until: the sentinel record (NULL: none); reconnect: one of
 * flurry_stream_reconnect, or -1 for the library's default. */
static int set_stream(flurry_request *req, int mode, long long max_record, const char *until,
                      long reconnect, ResponseObject *r) {
  int rc = flurry_request_set_stream(req, mode, on_record, r);
  if (rc == FLURRY_OK && max_record > 0)
    rc = flurry_request_set_stream_opt(req, FLURRY_STREAM_MAX_RECORD_BYTES, (int64_t)max_record);
  if (rc == FLURRY_OK && until != NULL)
    rc = flurry_request_set_stream_until(req, until);
  if (rc == FLURRY_OK && reconnect >= 0)
    rc = flurry_request_set_stream_opt(req, FLURRY_STREAM_RECONNECT, (int64_t)reconnect);
  if (rc != FLURRY_OK) {
    raise_rc(rc, "stream");
    return -1;
  }
  return 0;
}

/* submit(method, url, headers=None, body=None, is_json=0, opts=None,
 *        token=None, stream=0, max_record=0, until=None, reconnect=-1)
 *   -> Response (pending) */
static PyObject *Engine_submit(EngineObject *e, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs < 2 || nargs > 11)
    return PyErr_Format(PyExc_TypeError, "submit takes 2 to 11 arguments (%zd given)", nargs);
  if (engine_check(e) != 0)
    return NULL;
  const char *method = PyUnicode_AsUTF8(args[0]);
  if (method == NULL)
    return NULL;
  const char *url = PyUnicode_AsUTF8(args[1]);
  if (url == NULL)
    return NULL;
  PyObject *headers = nargs > 2 ? args[2] : Py_None;
  PyObject *body = nargs > 3 ? args[3] : Py_None;
  int is_json = nargs > 4 ? PyObject_IsTrue(args[4]) : 0;
  PyObject *opts = nargs > 5 ? args[5] : Py_None;
  PyObject *token = nargs > 6 ? args[6] : Py_None;
  long mode = nargs > 7 ? PyLong_AsLong(args[7]) : 0;
  long long max_record = nargs > 8 ? PyLong_AsLongLong(args[8]) : 0;
  const char *until = nargs > 9 && args[9] != Py_None ? PyUnicode_AsUTF8(args[9]) : NULL;
  long reconnect = nargs > 10 ? PyLong_AsLong(args[10]) : -1;
  if (PyErr_Occurred())
    return NULL;
  Py_buffer buf = {0};
  if (body != Py_None && PyObject_GetBuffer(body, &buf, PyBUF_SIMPLE) != 0)
    return NULL;
  flurry_request *req = build_request(method, url, headers, &buf, is_json, opts);
  if (buf.obj)
    PyBuffer_Release(&buf);
  if (req == NULL)
    return NULL;
  ResponseObject *r = (ResponseObject *)e->resp_type->tp_alloc(e->resp_type, 0);
  if (r == NULL) {
    flurry_request_free(req);
    return NULL;
  }
  flurry_done_cb cb = on_done;
  if (mode == SUBMIT_PAGINATE) {
    flurry_paginator pg;
    memset(&pg, 0, sizeof pg);
    pg.kind = FLURRY_PAGINATE_LINK;
    pg.on_end = on_chain_end;
    pg.max_pages = max_record;
    pg.user_data = r;
    int prc = flurry_request_set_paginator(req, &pg);
    if (prc != FLURRY_OK) {
      flurry_request_free(req);
      Py_DECREF(r);
      return raise_rc(prc, "paginate");
    }
    cb = on_page;
  } else if (mode && set_stream(req, (int)mode, max_record, until, reconnect, r) != 0) {
    flurry_request_free(req);
    Py_DECREF(r);
    return NULL;
  }
  r->engine = e; /* borrowed until submitted: the callbacks never run before */
  int rc = flurry_client_submit(e->client, req, cb, r);
  if (rc != FLURRY_OK) {
    flurry_request_free(req);
    r->engine = NULL;
    Py_DECREF(r);
    if (rc == FLURRY_EINVALID)
      return PyErr_Format(InvalidRequest,
                          "invalid URL %R: not an absolute http(s) URL with a host (a relative "
                          "one needs the client's base_url)",
                          args[1]);
    return raise_rc(rc, "submit");
  }
  r->req = req;
  Py_INCREF(e);
  Py_INCREF(token);
  r->token = token;
  Py_INCREF(r); /* the in-flight reference, handed back by run()/wait() */
  e->pending++;
  return (PyObject *)r;
}

static PyObject *take_record_error(EngineObject *e) {
  PyErr_Restore(e->rec_type, e->rec_value, e->rec_tb);
  e->rec_type = e->rec_value = e->rec_tb = NULL;
  return NULL;
}

/* run(): one uv_run(UV_RUN_NOWAIT); returns what finished. */
static PyObject *Engine_run(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (engine_check(e) != 0)
    return NULL;
  uv_run(e->loop, UV_RUN_NOWAIT);
  if (e->rec_type)
    return take_record_error(e);
  return done_take(e);
}

#define WAIT_SLICE_MS 100 /* the longest wait() sleeps before it looks at signals */

/* One slice of wait(), the GIL released: sleeps on the loop's backend fd
 * until it is readable, the next timer is due, a signal interrupts the
 * sleep (EINTR) or WAIT_SLICE_MS passed, then runs what is ready. Returns
 * 0 when nothing is left on the loop to wake it. */
static int wait_slice(uv_loop_t *loop) {
  int t = uv_backend_timeout(loop);
  if (t != 0) {
    struct pollfd p = {.fd = uv_backend_fd(loop), .events = POLLIN};
    (void)poll(&p, 1, t < 0 || t > WAIT_SLICE_MS ? WAIT_SLICE_MS : t);
  }
  uv_run(loop, UV_RUN_NOWAIT);
  return uv_loop_alive(loop);
}

/* wait(): runs the loop, the GIL released, until something finished or
 * nothing is pending; returns what finished. Ctrl-C is noticed at once
 * (the sleep is interrupted) or, when the signal went to another thread,
 * within WAIT_SLICE_MS: the GIL is taken back between slices to run
 * Python's signal handlers, whose exception (KeyboardInterrupt) wait()
 * raises with the requests still pending (the caller cancels them). */
static PyObject *Engine_wait(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (engine_check(e) != 0)
    return NULL;
  int sig = 0;
  if (e->done_head == NULL && flurry_client_pending(e->client) > 0) {
    e->waiting = 1;
    e->released = PyEval_SaveThread();
    while (e->done_head == NULL && flurry_client_pending(e->client) > 0) {
      if (wait_slice(e->loop) == 0 && e->done_head == NULL)
        break; /* nothing left on the loop to wake it */
      if (e->done_head == NULL) {
        PyEval_RestoreThread(e->released);
        sig = PyErr_CheckSignals();
        e->released = PyEval_SaveThread();
        if (sig != 0)
          break;
      }
    }
    PyEval_RestoreThread(e->released);
    e->released = NULL;
    e->waiting = 0;
    if (sig != 0 || PyErr_CheckSignals() != 0)
      return NULL;
  }
  if (e->rec_type)
    return take_record_error(e);
  return done_take(e);
}

static PyObject *Engine_backend_fd(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (engine_check(e) != 0)
    return NULL;
  return PyLong_FromLong(uv_backend_fd(e->loop));
}

static PyObject *Engine_backend_timeout(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (engine_check(e) != 0)
    return NULL;
  return PyLong_FromLong(uv_backend_timeout(e->loop));
}

static PyObject *Engine_pending(EngineObject *e, PyObject *unused) {
  (void)unused;
  return PyLong_FromSize_t(e->pending);
}

static PyObject *Engine_stats(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (engine_check(e) != 0)
    return NULL;
  flurry_client_stats s;
  flurry_client_stats_get(e->client, &s);
  return Py_BuildValue("{snsnsnsKsdsd}", "queued", (Py_ssize_t)s.queued, "running",
                       (Py_ssize_t)s.running, "waiting", (Py_ssize_t)s.waiting, "retries",
                       (unsigned long long)s.retries, "rate", s.rate, "retry_budget",
                       s.retry_budget);
}

static PyObject *Engine_cancel_all(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (engine_check(e) != 0)
    return NULL;
  int rc = flurry_client_cancel_all(e->client);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "cancel_all");
  return done_take(e);
}

/* close(): cancels what is pending, frees the client; returns what
 * finished. Closing twice is a no-op. */
static PyObject *Engine_close(EngineObject *e, PyObject *unused) {
  (void)unused;
  if (e->client == NULL)
    return PyList_New(0);
  if (engine_check(e) != 0)
    return NULL;
  if (e->ws_open > 0)
    return PyErr_Format(PyExc_RuntimeError,
                        "flurry: %zu WebSocket(s) still open: close them before the client",
                        e->ws_open);
  flurry_client_free(e->client);
  e->client = NULL;
  e->loop = NULL;
  return done_take(e);
}

static PyObject *Engine_get_closed(EngineObject *e, void *c) {
  (void)c;
  return PyBool_FromLong(e->client == NULL);
}

static PyMethodDef Engine_methods[] = {
    {"set_option", (PyCFunction)Engine_set_option, METH_VARARGS,
     "set_option(opt, value): a client option by number."},
    {"set_base_url", (PyCFunction)Engine_set_base_url, METH_VARARGS, NULL},
    {"set_ca_file", (PyCFunction)Engine_set_ca_file, METH_VARARGS, NULL},
    {"set_cache", (PyCFunction)Engine_set_cache, METH_VARARGS,
     "set_cache(path): the HTTP cache, a SQLite file or \":memory:\"."},
    {"add_header", (PyCFunction)Engine_add_header, METH_VARARGS, NULL},
    {"add_secret_header", (PyCFunction)Engine_add_secret_header, METH_VARARGS, NULL},
    {"submit", (PyCFunction)(void (*)(void))Engine_submit, METH_FASTCALL,
     "submit(method, url, headers=None, body=None, is_json=False, opts=None, token=None, "
     "stream=0, max_record=0) -> Response (pending)."},
    {"run", (PyCFunction)Engine_run, METH_NOARGS,
     "One uv_run(UV_RUN_NOWAIT); returns [token, response, ...] of what finished."},
    {"wait", (PyCFunction)Engine_wait, METH_NOARGS,
     "Runs the loop (GIL released) until something finished; returns as run()."},
    {"backend_fd", (PyCFunction)Engine_backend_fd, METH_NOARGS, "uv_backend_fd of the loop."},
    {"backend_timeout", (PyCFunction)Engine_backend_timeout, METH_NOARGS,
     "uv_backend_timeout of the loop, ms (-1: none)."},
    {"pending", (PyCFunction)Engine_pending, METH_NOARGS,
     "Responses submitted and not yet handed back."},
    {"stats", (PyCFunction)Engine_stats, METH_NOARGS, "flurry_client_stats_get as a dict."},
    {"cancel_all", (PyCFunction)Engine_cancel_all, METH_NOARGS,
     "Cancels everything pending; returns as run()."},
    {"ws_connect", (PyCFunction)Engine_ws_connect, METH_VARARGS,
     "ws_connect(url, headers, max_message, token) -> WebSocket."},
    {"close", (PyCFunction)Engine_close, METH_NOARGS,
     "Cancels everything pending and frees the client; returns as run()."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Engine_getset[] = {{"closed", (getter)Engine_get_closed, NULL, NULL, NULL},
                                      {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject Engine_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flurry._flurry.Engine",
    .tp_basicsize = sizeof(EngineObject),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One flurry_client on its own libuv loop (see flurry.AsyncClient).",
    .tp_methods = Engine_methods,
    .tp_getset = Engine_getset,
    .tp_new = Engine_new,
};

/* ---- webhooks (flurry/webhook.h) ---- */

/* Parses the scheme name and the secrets (a sequence of bytes) into keys;
 * returns the number of keys, or -1 with an exception set. */
static Py_ssize_t webhook_keys(const char *name, PyObject *secrets, flurry_webhook_scheme *scheme,
                               flurry_webhook_key *keys) {
  if (flurry_webhook_scheme_parse(name, scheme) != FLURRY_OK) {
    PyErr_Format(PyExc_ValueError,
                 "scheme must be 'github', 'stripe', 'standard' or 'none' (got '%s')", name);
    return -1;
  }
  PyObject *seq = PySequence_Fast(secrets, "secrets must be a sequence of bytes");
  if (seq == NULL)
    return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  if (n > FLURRY_WEBHOOK_MAX_SIGS) {
    Py_DECREF(seq);
    PyErr_Format(PyExc_ValueError, "at most %d secrets (got %zd)", FLURRY_WEBHOOK_MAX_SIGS, n);
    return -1;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    char *p;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(PySequence_Fast_GET_ITEM(seq, i), &p, &len) != 0) {
      Py_DECREF(seq);
      return -1;
    }
    if (flurry_webhook_key_parse(*scheme, p, (size_t)len, &keys[i]) != FLURRY_OK) {
      Py_DECREF(seq);
      PyErr_Format(PyExc_ValueError, "secret %zd is not a valid %s secret (empty, over %d bytes%s)",
                   i, name, FLURRY_WEBHOOK_KEY_MAX,
                   *scheme == FLURRY_WEBHOOK_STANDARD ? ", or not whsec_<base64>" : "");
      return -1;
    }
  }
  Py_DECREF(seq);
  return n;
}

/* webhook_verify(scheme, secrets, signature, id, timestamp, body, tolerance, now)
 * -> verdict name ("ok", "missing", "malformed", "stale", "mismatch") */
static PyObject *mod_webhook_verify(PyObject *m, PyObject *args) {
  (void)m;
  const char *name, *sig, *id, *ts;
  PyObject *secrets;
  Py_buffer body;
  long long tolerance, now;
  if (!PyArg_ParseTuple(args, "sOzzzy*LL", &name, &secrets, &sig, &id, &ts, &body, &tolerance,
                        &now))
    return NULL;
  flurry_webhook_scheme scheme;
  flurry_webhook_key keys[FLURRY_WEBHOOK_MAX_SIGS];
  Py_ssize_t n = webhook_keys(name, secrets, &scheme, keys);
  if (n < 0) {
    PyBuffer_Release(&body);
    return NULL;
  }
  flurry_webhook_delivery d = {sig, id, ts, body.buf, (size_t)body.len};
  int verdict = 0, rc;
  Py_BEGIN_ALLOW_THREADS rc = flurry_webhook_verify(scheme, keys, (size_t)n, tolerance, now, &d,
                                                    &verdict);
  Py_END_ALLOW_THREADS PyBuffer_Release(&body);
  if (rc != FLURRY_OK)
    return raise_rc(rc, "webhook verify");
  static const char *const names[] = {"ok", "missing", "malformed", "stale", "mismatch"};
  return Py_BuildValue("(ss)", names[verdict], flurry_webhook_verdict_str(verdict));
}

/* webhook_sign(scheme, secrets, id, t, body) -> the signature header value */
static PyObject *mod_webhook_sign(PyObject *m, PyObject *args) {
  (void)m;
  const char *name, *id;
  PyObject *secrets;
  Py_buffer body;
  long long t;
  if (!PyArg_ParseTuple(args, "sOzLy*", &name, &secrets, &id, &t, &body))
    return NULL;
  flurry_webhook_scheme scheme;
  flurry_webhook_key keys[FLURRY_WEBHOOK_MAX_SIGS];
  Py_ssize_t n = webhook_keys(name, secrets, &scheme, keys);
  char out[FLURRY_WEBHOOK_SIGNATURE_MAX];
  int rc = n < 0 ? FLURRY_OK
                 : flurry_webhook_sign(scheme, keys, (size_t)n, id, t, body.buf, (size_t)body.len,
                                       out, sizeof out);
  PyBuffer_Release(&body);
  if (n < 0)
    return NULL;
  if (rc != FLURRY_OK)
    return raise_rc(rc, "webhook sign (a scheme and at least one secret)");
  return PyUnicode_FromString(out);
}

/* ---- module functions ---- */

/* options() -> [(name, opt, default, min, max, client_only), ...] from the
 * library's option table: a new option shows up without a change here. */
static PyObject *mod_options(PyObject *m, PyObject *unused) {
  (void)m;
  (void)unused;
  PyObject *out = PyList_New(0);
  for (int opt = 1; out && opt < 1000; opt++) {
    flurry_opt_info info;
    if (flurry_opt_get_info((flurry_opt)opt, &info) != FLURRY_OK)
      break;
    PyObject *t = Py_BuildValue("(siLLLi)", info.name, opt, (long long)info.def,
                                (long long)info.min, (long long)info.max, info.client_only);
    if (t == NULL || PyList_Append(out, t) != 0)
      Py_CLEAR(out);
    Py_XDECREF(t);
  }
  return out;
}

/* errors() -> [(code, name, description), ...] */
static PyObject *mod_errors(PyObject *m, PyObject *unused) {
  (void)m;
  (void)unused;
  PyObject *out = PyList_New(0);
  for (int code = 0; out && code < FLURRY_ERR_COUNT; code++) {
    PyObject *t = Py_BuildValue("(iss)", code, flurry_err_name(code), flurry_strerror(code));
    if (t == NULL || PyList_Append(out, t) != 0)
      Py_CLEAR(out);
    Py_XDECREF(t);
  }
  return out;
}

static PyObject *mod_set_invalid_request(PyObject *m, PyObject *cls) {
  (void)m;
  if (!PyType_Check(cls) ||
      !PyType_IsSubtype((PyTypeObject *)cls, (PyTypeObject *)PyExc_ValueError))
    return PyErr_Format(PyExc_TypeError, "a subclass of ValueError is needed");
  Py_INCREF(cls);
  Py_SETREF(InvalidRequest, cls);
  Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"options", mod_options, METH_NOARGS, "The library's option table."},
    {"_set_invalid_request", mod_set_invalid_request, METH_O, NULL},
    {"errors", mod_errors, METH_NOARGS, "The library's error kinds."},
    {"webhook_verify", mod_webhook_verify, METH_VARARGS,
     "webhook_verify(scheme, secrets, signature, id, "
     "timestamp, body, tolerance, now)"},
    {"webhook_sign", mod_webhook_sign, METH_VARARGS, "webhook_sign(scheme, secrets, id, t, body)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT,
                                        "_flurry",
                                        "The C engine of the flurry package.",
                                        -1,
                                        module_methods,
                                        NULL,
                                        NULL,
                                        NULL,
                                        NULL};

PyMODINIT_FUNC PyInit__flurry(void) {
  if (PyType_Ready(&Response_Type) < 0 || PyType_Ready(&Engine_Type) < 0 ||
      PyType_Ready(&Ws_Type) < 0)
    return NULL;
  PyObject *m = PyModule_Create(&module_def);
  if (m == NULL)
    return NULL;
  FlurryError = PyErr_NewException("flurry._flurry.error", NULL, NULL);
  Py_INCREF(PyExc_ValueError);
  InvalidRequest = PyExc_ValueError;
  if (FlurryError == NULL || PyModule_AddObjectRef(m, "error", FlurryError) < 0 ||
      PyModule_AddObjectRef(m, "Engine", (PyObject *)&Engine_Type) < 0 ||
      PyModule_AddObjectRef(m, "Response", (PyObject *)&Response_Type) < 0 ||
      PyModule_AddStringConstant(m, "version", FLURRY_VERSION) < 0 ||
      PyModule_AddIntConstant(m, "STREAM_LINES", FLURRY_STREAM_LINES) < 0 ||
      PyModule_AddIntConstant(m, "STREAM_NDJSON", FLURRY_STREAM_NDJSON) < 0 ||
      PyModule_AddIntConstant(m, "STREAM_SSE", FLURRY_STREAM_SSE) < 0 ||
      PyModule_AddIntConstant(m, "PAGINATE", SUBMIT_PAGINATE) < 0 ||
      PyModule_AddIntConstant(m, "RECONNECT_AUTO", FLURRY_RECONNECT_AUTO) < 0 ||
      PyModule_AddIntConstant(m, "RECONNECT_NEVER", FLURRY_RECONNECT_NEVER) < 0 ||
      PyModule_AddIntConstant(m, "RECONNECT_ON_ERROR", FLURRY_RECONNECT_ON_ERROR) < 0 ||
      PyModule_AddIntConstant(m, "RECONNECT_ALWAYS", FLURRY_RECONNECT_ALWAYS) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
