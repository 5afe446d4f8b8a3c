"""Cloudflare RealtimeKit: the account-level app routes, then the v2 resources scoped to an app.

`GET/POST /client/v4/accounts/{account_id}/realtime/kit/apps` (the only app routes the
SDK has: apps cannot be renamed or deleted through the API); everything under
`.../realtime/kit/{app_id}/...` is `routes_v2`'s implementation on the REALTIMEKIT surface.
"""

from __future__ import annotations

from migrator.sandbox.idgen import now_iso
from migrator.sandbox.paging import v2_paging, v2_window
from migrator.sandbox.query import QueryRules
from migrator.sandbox.routes_v2 import REALTIMEKIT, RTK_SPEC
from migrator.sandbox.routes_v2 import routes as resource_routes
from migrator.sandbox.routing import BodySchema, Route
from migrator.sandbox.specs import SpecDocument
from migrator.sandbox.store import Store
from migrator.sandbox.wire import Call, Reply

APPS = "/accounts/{account_id}/realtime/kit/apps"


def list_apps(store: Store, call: Call) -> Reply:
    search = call.query.get("search", "").casefold()
    apps = [app for app in store.orgs.rtk.apps if search in app["name"].casefold()]
    apps.sort(key=lambda app: app["created_at"], reverse=call.query.get("sort_order") == "DESC")
    window = v2_window(call.query)
    page = apps[window.offset : window.offset + window.limit]
    return Reply(200, {"success": True, "data": page, "paging": v2_paging(len(apps), window, len(page))})


def create_app(store: Store, call: Call) -> Reply:
    """Apps made through the API start empty (no presets), as on the real service."""
    app = {"id": store.ids.uuid().replace("-", ""), "name": call.body["name"], "created_at": now_iso()}
    store.orgs.rtk.add_app(app)
    return Reply(201, {"success": True, "data": {"app": app}})


def routes() -> list[Route]:
    spec = SpecDocument.load(RTK_SPEC)
    template = REALTIMEKIT.route_prefix + APPS
    return [
        Route("GET", template, list_apps, "rtk", None, QueryRules.from_spec(spec, APPS, "GET")),
        Route(
            "POST",
            template,
            create_app,
            "rtk",
            BodySchema(*spec.request_body_validator(APPS, "POST")),
            QueryRules.from_spec(spec, APPS, "POST"),
        ),
        *resource_routes(REALTIMEKIT),
    ]
