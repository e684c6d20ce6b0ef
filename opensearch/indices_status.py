"""``logharbor indices status``: data streams, backing indices, docs, size and lifecycle state."""

from __future__ import annotations

from opensearchpy import NotFoundError, OpenSearch

from logharbor.config import StorageSettings

from . import lifecycle


def collect(client: OpenSearch, pattern: str = "logs-*", storage: StorageSettings | None = None) -> list[dict]:
    try:
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
    except NotFoundError:
        return []
    rows = {r["index"]: r for r in client.cat.indices(
        index=f".ds-{pattern}-*", format="json", bytes="b", h="index,docs.count,store.size,health")}
    backing = [i["index_name"] for ds in streams for i in ds["indices"]]
    states = lifecycle.explain(client, backing, storage)
    out = []
    for ds in streams:
        indices = []
        for i in ds["indices"]:
            name = i["index_name"]
            row = rows.get(name, {})
            indices.append({
                "index": name, "docs": int(row.get("docs.count") or 0), "bytes": int(row.get("store.size") or 0),
                "health": row.get("health"), "write": name == ds["indices"][-1]["index_name"],
                **{f"lifecycle_{k}": v for k, v in (states.get(name) or {}).items()},
            })
        out.append({"data_stream": ds["name"], "status": ds.get("status"), "template": ds.get("template"),
                    "generation": ds.get("generation"), "indices": indices})
    return out


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def render(streams: list[dict]) -> str:
    if not streams:
        return "no LogHarbor data streams yet (they appear on the first write after `logharbor indices bootstrap`)"
    lines = []
    for ds in streams:
        docs = sum(i["docs"] for i in ds["indices"])
        size = sum(i["bytes"] for i in ds["indices"])
        lines.append(f"{ds['data_stream']}  [{ds['status']}] generation {ds['generation']}, "
                     f"{docs} docs, {human_bytes(size)}")
        for i in ds["indices"]:
            state = i.get("lifecycle_state") or "-"
            policy = i.get("lifecycle_policy") or "no policy"
            info = i.get("lifecycle_info") or ""
            lines.append(f"  {'*' if i['write'] else ' '} {i['index']:<44} {i['docs']:>10} docs "
                         f"{human_bytes(i['bytes']):>9}  {policy}: {state} {info}".rstrip())
    return "\n".join(lines)
