// Package httpapi is the HTTP layer every deiops service shares: problem+json
// errors (RFC 9457), strict JSON decoding, the middleware chain (request ids,
// recovery, tracing, metrics, access logs, body limits, rate limiting,
// idempotency keys), health endpoints, a router that records OpenAPI
// metadata next to each route, and a server with graceful shutdown.
//
// The request path through a Server is:
//
//	forwarded client address (trusted proxies) → request id → context logger → tracing → metrics → access log → recovery →
//	body limit → Options.Middleware → router → per route:
//	Options.RouteMiddleware (authentication, roles) → rate limit → no-store
//	(restricted routes) → idempotency (POST) → handler
//
// Rate limiting runs per route, after authentication, so it can key on the
// caller's identity: many staff share one hospital egress address, and
// limiting them per IP would make them throttle each other. Requests that
// match no route, or fail authentication, are answered before it.
//
// Router.Page mounts plain handlers (the portal's pages) that take the
// outer chain but not the per-route part, and are not in the OpenAPI
// document; Router.NotFoundPage answers browsers outside the API.
//
// /healthz, /readyz and /metrics bypass that chain so probes and scrapes are
// neither rate limited nor logged.
//
// Privacy rules this package keeps: no request bodies, query strings, raw
// paths, client addresses, user agents or Authorization values in spans,
// metric labels or logs (anonymous reporters must not be re-identifiable from
// telemetry), and nothing a caller sent appears in Redis key names or in
// cleartext Redis values.
package httpapi
