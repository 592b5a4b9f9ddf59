"""A FastAPI gateway on one shared flurry.AsyncClient.

    UPSTREAM=http://127.0.0.1:8080 /usr/bin/python3 -m uvicorn gateway:app --port 8000

- GET /users/{uid}/overview: the user, their posts and their comments from
  the upstream API, fetched concurrently and answered as one JSON object.
  An upstream that times out gives 504 with a body naming it; one that
  fails (connection refused, 4xx/5xx) gives 502. After the answer, a
  background task POSTs a signed notification (Standard Webhooks) to
  NOTIFY_URL, if set.
- POST /webhooks/github: a webhook endpoint; deliveries whose
  X-Hub-Signature-256 does not verify with GITHUB_SECRET are refused (401,
  or 400 when malformed).

Configuration (environment): UPSTREAM, UPSTREAM_TIMEOUT (seconds, 2),
USER_PATH / POSTS_PATH / COMMENTS_PATH (templates with {uid}, defaults
flurry mock's routes), NOTIFY_URL, NOTIFY_SECRET (whsec_...),
GITHUB_SECRET.
"""

import os
import time
from contextlib import asynccontextmanager

import flurry
from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:8080")
TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT", "2"))
PATHS = {
    "user": os.environ.get("USER_PATH", "/users/{uid}"),
    "posts": os.environ.get("POSTS_PATH", "/users/{uid}/posts"),
    "comments": os.environ.get("COMMENTS_PATH", "/users/{uid}/comments"),
}
NOTIFY_URL = os.environ.get("NOTIFY_URL")
NOTIFY_SECRET = os.environ.get("NOTIFY_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
GITHUB_SECRET = os.environ.get("GITHUB_SECRET", "change-me")


@asynccontextmanager
async def lifespan(app):
    # One client for the whole app: its connections, limits and retry
    # budget are shared by every request the gateway serves.
    async with flurry.AsyncClient(base_url=UPSTREAM, concurrency=100, per_host=32,
                                  timeout=TIMEOUT, retries=2, retry_base=0.05) as client:
        app.state.client = client
        app.state.notified = 0
        yield


app = FastAPI()
# FastAPI(lifespan=lifespan) from FastAPI 0.93 on; Debian 12 has 0.92,
# whose router (Starlette 0.26) takes the same context manager.
app.router.lifespan_context = lifespan


async def notify(client, uid):
    """Background task: a signed notification that an overview was served."""
    body = flurry.build("POST", NOTIFY_URL, json={"event": "overview", "uid": uid}).body
    headers = flurry.webhooks.sign("standard", NOTIFY_SECRET, body,
                                   msg_id=f"overview-{uid}-{time.time_ns()}")
    headers["Content-Type"] = "application/json"
    try:
        r = await client.post(NOTIFY_URL, content=body, headers=headers)
        if r.status < 300:
            app.state.notified += 1
    except flurry.Error:
        pass  # a notification is best effort


@app.get("/users/{uid}/overview")
async def overview(uid: int, request: Request, background: BackgroundTasks):
    client = request.app.state.client
    names = list(PATHS)
    results = await client.gather([PATHS[n].format(uid=uid) for n in names])
    out = {}
    for name, r in zip(names, results):
        if isinstance(r, flurry.TimeoutError):
            return JSONResponse(status_code=504, content={
                "error": "upstream_timeout", "upstream": name,
                "message": f"the {name} service did not answer within {TIMEOUT:g} s",
                "detail": r.detail})
        if isinstance(r, flurry.Error):
            return JSONResponse(status_code=502, content={
                "error": "upstream_failed", "upstream": name, "kind": r.kind,
                "message": r.message})
        if r.status >= 400:
            return JSONResponse(status_code=502, content={
                "error": "upstream_failed", "upstream": name, "kind": "http",
                "message": f"the {name} service answered {r.status}"})
        out[name] = r.json()
    if NOTIFY_URL:
        background.add_task(notify, client, uid)
    return out


@app.post("/webhooks/github")
async def github_webhook(request: Request):
    body = await request.body()
    try:
        flurry.webhooks.verify("github", GITHUB_SECRET, request.headers, body)
    except flurry.webhooks.SignatureError as e:
        return JSONResponse(status_code=e.status, content={"error": e.verdict, "message": str(e)})
    event = request.headers.get("X-GitHub-Event", "unknown")
    return JSONResponse(status_code=202, content={"accepted": event, "bytes": len(body)})


@app.get("/stats")
async def stats(request: Request):
    return {"notified": request.app.state.notified, **request.app.state.client.stats()}
