"""Lifecycle JSON API: retention (per tenant; cluster defaults need the operator scope),
snapshots (list, create, status, restore with a dry run first, verify), the lifecycle plan,
disk usage against the watermarks, legal holds and the lifecycle audit (deletions).

Authorisation (issue 16 item 2): a tenant admin reads and changes *its own* tenant's
retention and sees its own data streams and deletions; everything cluster-wide — default
retention, snapshots (they hold every tenant), restore, disk, holds — needs ``operator``.
The lifecycle engine is synchronous (shared with the CLI), so handlers run it in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from opensearch import (
    disk_monitor,
    lifecycle_audit,
    lifecycle_plan,
    safe_delete,
    snapshot_schedule,
    snapshot_verify,
    snapshots,
)
from opensearch.lifecycle_settings import LifecycleSettings
from ui.api import opensearch_errors
from ui.auth import Principal, is_operator, require_operator
from ui.errors import ApiError, bad_request
from ui.http import SERVICE, audit_ok, authenticate, json_object, json_response


def _client(request: web.Request) -> Any:
    return request.app[SERVICE]._sync_client()


async def _run(fn, *args: Any, **kw: Any) -> Any:
    with opensearch_errors():
        try:
            return await asyncio.to_thread(fn, *args, **kw)
        except snapshots.SnapshotError as exc:
            raise ApiError(409, str(exc)) from None


# -------------------------------------------------------------------------------------- retention

def _retention_target(p: Principal, scope: str, tenant: str | None) -> str | None:
    """The tenant a retention request acts on (None = cluster defaults); refuses what it may not."""
    if scope == "cluster":
        require_operator(p, "changing cluster-wide retention defaults")
        return None
    if scope != "tenant":
        raise bad_request("scope must be 'tenant' (default) or 'cluster'", param="scope")
    if tenant and tenant != p.tenant:
        require_operator(p, f"changing tenant {tenant}'s retention")
        return tenant
    return p.tenant


async def get_retention(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    target = _retention_target(p, request.query.get("scope", "tenant"), request.query.get("tenant"))
    svc = request.app[SERVICE]
    out = await svc.get_retention(target)
    out.update(scope="cluster" if target is None else "tenant", tenant=target)
    if target is not None:
        out["defaults"] = (await svc.get_retention(None))["retention_days"]
    return json_response(out)


async def set_retention(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    body = await json_object(request)
    scope = str(body.pop("scope", "tenant"))
    target = _retention_target(p, scope, body.pop("tenant", None))
    out = await request.app[SERVICE].set_retention(body, target, actor=p.key_id)
    out.update(scope="cluster" if target is None else "tenant", tenant=target)
    audit_ok(request, p, "retention.set", f"{'cluster defaults' if target is None else 'tenant ' + target}: "
             f"{orjson.dumps(out['retention_days']).decode()}")
    return json_response(out)


# -------------------------------------------------------------------------------------- snapshots

def _repo() -> str:
    return LifecycleSettings().snapshot_repository


def _snapshot_overview(client: Any) -> dict[str, Any]:
    health = snapshot_schedule.snapshot_health(client)
    snaps = [snapshots.summary(s) for s in snapshots.list_snapshots(client, _repo())] if health["configured"] else []
    return {"repository": health["repository"], "configured": health["configured"], "health": health,
            "snapshots": list(reversed(snaps))}


async def list_snapshots(request: web.Request) -> web.Response:
    require_operator(await authenticate(request, "admin"), "snapshots")
    return json_response(await _run(_snapshot_overview, _client(request)))


async def create_snapshot(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    require_operator(p, "taking a snapshot")
    name = await _run(snapshots.create, _client(request), _repo(), trigger="api", actor=p.key_id)
    audit_ok(request, p, "snapshot.create", name, status=202)
    return json_response({"snapshot": name, "state": "IN_PROGRESS",
                          "status_url": f"/api/v1/snapshots/{name}"}, 202)


async def snapshot_status(request: web.Request) -> web.Response:
    require_operator(await authenticate(request, "admin"), "snapshots")
    snap = await _run(snapshots.info, _client(request), _repo(), request.match_info["name"])
    return json_response(snapshots.summary(snap))


def _restore(client: Any, name: str, body: dict[str, Any], actor: str) -> dict[str, Any]:
    repo = _repo()
    if name == "latest":
        name = snapshots.latest(client, repo)["snapshot"]
    kw = {"rename_pattern": body.get("rename_pattern"), "rename_replacement": body.get("rename_replacement")}
    plan = snapshots.plan_restore(client, repo, name, data_streams=body.get("data_streams"),
                                  indices=body.get("indices"), **kw)
    out = {"dry_run": body.get("dry_run", True) is not False, "plan": plan.as_dict()}
    if out["dry_run"]:
        return out
    snapshots.restore(client, repo, plan, wait_for_completion=True, actor=actor, **kw)
    out["restored"] = True
    return out


async def restore_snapshot(request: web.Request) -> web.Response:
    """Dry run unless the body says ``"dry_run": false``; 409 when an open index is in the way."""
    p = await authenticate(request, "admin")
    require_operator(p, "restoring a snapshot")
    body = await json_object(request)
    for key in ("data_streams", "indices"):
        if key in body and not (isinstance(body[key], list) and all(isinstance(x, str) for x in body[key])):
            raise bad_request(f"{key} must be a list of names", param=key)
    out = await _run(_restore, _client(request), request.match_info["name"], body, p.key_id)
    if not out["dry_run"]:
        audit_ok(request, p, "snapshot.restore", ", ".join(out["plan"]["targets"].values())[:2000])
    return json_response(out)


async def verify_snapshot(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    require_operator(p, "verifying a snapshot")
    body = await json_object(request) if request.can_read_body else {}
    name = body.get("snapshot")
    res = await _run(snapshot_verify.verify, _client(request), _repo(), snapshot=name,
                     sample=LifecycleSettings().verify_sample, actor=p.key_id)
    audit_ok(request, p, "snapshot.verify", f"{res['snapshot']}: {'ok' if res['ok'] else 'FAILED'}")
    return json_response(res)


# ------------------------------------------------------------------------ plan, disk, holds, audit

async def lifecycle_overview(request: web.Request) -> web.Response:
    """Per backing index: phase, age, size, docs, next action and due time (own tenant unless operator)."""
    p = await authenticate(request, "admin")
    pattern = "logs-*" if is_operator(p) else f"logs-{p.tenant}-*"
    rows = await _run(lifecycle_plan.plan, _client(request), pattern=pattern)
    return json_response({"pattern": pattern, "indices": rows})


async def disk(request: web.Request) -> web.Response:
    require_operator(await authenticate(request, "admin"), "disk usage")
    return json_response(await _run(disk_monitor.disk_health, _client(request)))


async def list_holds(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    got = await _run(safe_delete.holds, _client(request))
    if not is_operator(p):
        got = {k: v for k, v in got.items() if k.startswith(f"logs-{p.tenant}-")}
    return json_response({"holds": got})


async def set_hold(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    require_operator(p, "a legal hold")
    body = await json_object(request)
    ds = body.get("data_stream")
    if not isinstance(ds, str) or not ds.startswith("logs-"):
        raise bad_request("data_stream must name a logs-<tenant>-<class> data stream", param="data_stream")
    doc = await _run(safe_delete.set_hold, _client(request), ds, reason=str(body.get("reason") or "legal hold"),
                     actor=p.key_id)
    audit_ok(request, p, "lifecycle.hold", ds)
    return json_response(doc)


async def clear_hold(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    require_operator(p, "a legal hold")
    ds = request.match_info["data_stream"]
    cleared = await _run(safe_delete.clear_hold, _client(request), ds, actor=p.key_id)
    audit_ok(request, p, "lifecycle.hold.clear", ds)
    return json_response({"data_stream": ds, "cleared": cleared})


async def audit(request: web.Request) -> web.Response:
    """Deletions, snapshots, verifies, retention changes — a tenant admin sees its own tenant's."""
    p = await authenticate(request, "admin")
    kind = request.query.get("kind")
    if kind and kind not in lifecycle_audit.KINDS:
        raise bad_request(f"kind must be one of {', '.join(lifecycle_audit.KINDS)}", param="kind")
    try:
        size = int(request.query.get("limit", "100"))
    except ValueError:
        raise bad_request("limit must be a whole number from 1 to 1000", param="limit") from None
    if not 1 <= size <= 1000:
        raise bad_request("limit must be a whole number from 1 to 1000", param="limit")
    tenant = request.query.get("tenant") if is_operator(p) else p.tenant
    rows = await _run(lifecycle_audit.search, _client(request), kind=kind, tenant=tenant,
                      data_stream=request.query.get("data_stream"), index=request.query.get("index"), size=size)
    return json_response({"records": rows})


def lifecycle_status(client: Any) -> dict[str, Any]:
    """The snapshot and disk facts ``/api/v1/status`` and alert rules read (see docs/STORAGE.md)."""
    return {"snapshots": snapshot_schedule.snapshot_health(client), "disk": disk_monitor.disk_health(client)}


_STATUS_CACHE: dict[str, Any] = {}


async def lifecycle_status_section(request: web.Request, p: Principal) -> dict[str, Any]:
    """``lifecycle`` in ``/api/v1/status``: failing snapshots/verify and the disk state for every
    key; the detail (runs, nodes, blocked indices) for operators. Cached 10 s; never fails the status."""
    now = asyncio.get_running_loop().time()
    if _STATUS_CACHE.get("at", -1e9) + 10 < now:
        try:
            _STATUS_CACHE["value"] = await asyncio.to_thread(lifecycle_status, _client(request))
        except Exception as exc:  # the status must answer even when this part cannot
            _STATUS_CACHE["value"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        _STATUS_CACHE["at"] = now
    full = _STATUS_CACHE["value"]
    if "error" in full:
        return {"ok": False, "error": full["error"]} if is_operator(p) else {"ok": False}
    snap, disk_ = full["snapshots"], full["disk"]
    summary = {"ok": not snap["failing"] and disk_["state"] in ("ok", "low") and not disk_["blocked_indices"],
               "snapshots_failing": snap["failing"], "disk_state": disk_["state"],
               "ingest_blocked": bool(disk_["blocked_indices"]) or bool(disk_.get("create_index_blocked"))}
    return {**summary, **full} if is_operator(p) else summary


ROUTES = [
    web.get("/api/v1/retention", get_retention),
    web.post("/api/v1/retention", set_retention),
    web.get("/api/v1/snapshots", list_snapshots),
    web.post("/api/v1/snapshots", create_snapshot),
    web.post("/api/v1/snapshots/verify", verify_snapshot),
    web.get("/api/v1/snapshots/{name}", snapshot_status),
    web.post("/api/v1/snapshots/{name}/restore", restore_snapshot),
    web.get("/api/v1/lifecycle", lifecycle_overview),
    web.get("/api/v1/lifecycle/disk", disk),
    web.get("/api/v1/lifecycle/holds", list_holds),
    web.post("/api/v1/lifecycle/holds", set_hold),
    web.delete("/api/v1/lifecycle/holds/{data_stream}", clear_hold),
    web.get("/api/v1/lifecycle/audit", audit),
]


def _op(summary: str, body: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "security": [{"bearer": []}],
                          "responses": {"200": {"description": "OK"}, "400": {"description": "bad request"},
                                        "403": {"description": "scope missing"}}}
    if body:
        op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
    return op


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/retention": {
        "get": _op("Effective retention days of the caller's tenant (scope=cluster: defaults, operator)"),
        "post": _op("Change retention days: own tenant (admin) or, with scope=cluster, the defaults (operator)",
                    True)},
    "/api/v1/snapshots": {"get": _op("Snapshots, last run, last verify (operator)"),
                          "post": _op("Start a snapshot (operator); 202 with its name")},
    "/api/v1/snapshots/verify": {"post": _op("Restore the latest snapshot into scratch names and compare", True)},
    "/api/v1/snapshots/{name}": {"get": _op("One snapshot's state")},
    "/api/v1/snapshots/{name}/restore": {"post": _op("Restore plan (dry_run default true) or restore", True)},
    "/api/v1/lifecycle": {"get": _op("Backing indices with phase, age, size, docs, next action and due time")},
    "/api/v1/lifecycle/disk": {"get": _op("Disk per node against the watermarks (operator)")},
    "/api/v1/lifecycle/holds": {"get": _op("Legal holds"), "post": _op("Set a legal hold (operator)", True)},
    "/api/v1/lifecycle/holds/{data_stream}": {"delete": _op("Clear a legal hold (operator)")},
    "/api/v1/lifecycle/audit": {"get": _op("Lifecycle audit: deletions, snapshots, verifies, retention changes")},
}
OPENAPI_SCHEMAS: dict[str, Any] = {}
