/*
 * mc_routes.c — the route table of mcertd: every endpoint, its method, its
 * body limit and whether it needs a logged-in account. core/PROTOCOL.md
 * documents each; keep both in step.
 */
#include "mc_proto.h"
#include "mc_web.h"

const mc_route mc_routes[] = {
    /* web JSON API */
    {EVHTTP_REQ_POST, "/api/v1/login", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_NONE, mc_web_login},
    {EVHTTP_REQ_POST, "/api/v1/logout", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_web_logout},
    {EVHTTP_REQ_GET, "/api/v1/me", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_web_me},
    {EVHTTP_REQ_POST, "/api/v1/sessions", MC_API_WEB, MC_WEB_BODY_MAX, MC_AUTH_OPTIONAL,
     mc_web_session_open},
    {EVHTTP_REQ_GET, "/api/v1/sessions/:sid", MC_API_WEB, 0, MC_AUTH_NONE, mc_web_session_poll},
    {EVHTTP_REQ_GET, "/api/v1/bindings", MC_API_WEB, 0, MC_AUTH_REQUIRED, mc_web_bindings},
    {EVHTTP_REQ_DELETE, "/api/v1/bindings/:account", MC_API_WEB, 0, MC_AUTH_REQUIRED,
     mc_web_unbind},
    {EVHTTP_REQ_GET, "/healthz", MC_API_WEB, 0, MC_AUTH_NONE, mc_web_health},
    /* phone msgpack API */
    {EVHTTP_REQ_GET, "/m/v1/sessions/:sid", MC_API_PHONE, 0, MC_AUTH_NONE, mc_phone_session_get},
    {EVHTTP_REQ_POST, "/m/v1/sessions/:sid/response", MC_API_PHONE, MC_PHONE_BODY_MAX,
     MC_AUTH_NONE, mc_phone_session_respond},
    /* pages */
    {EVHTTP_REQ_GET, "/M/:sid", MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_scan_hint},
    {EVHTTP_REQ_GET, "/", MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_static},
    {EVHTTP_REQ_GET, "/bindings", MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_static},
    {EVHTTP_REQ_GET, "/app.js", MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_static},
    {EVHTTP_REQ_GET, "/style.css", MC_API_PAGE, 0, MC_AUTH_NONE, mc_page_static},
};

const size_t mc_nroutes = sizeof(mc_routes) / sizeof(mc_routes[0]);
