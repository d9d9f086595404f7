// Package notify delivers deiops notifications.
//
// Notifications are generic on purpose: they never carry case or training
// content, only a fixed sentence chosen by a template code and a link into
// deiops (for example "A case in deiops needs your attention. Open it
// here: https://deiops.example.org/cases/c-123"). Whoever opens the link
// signs in and sees what their role allows; a forwarded, mis-addressed or
// shoulder-surfed notification reveals nothing.
//
// # Requesting a notification
//
// A service publishes a Requested event (Publish does it with event id =
// notification id, so a repeated request is stored and delivered once):
//
//	r := notify.NewRequest(notify.DeriveID("resolution", "case_attention", caseID, step),
//		"resolution", notify.TemplateCaseAttention, publicURL+"/cases/"+caseID, caseID, recipientIDs...)
//	_, err := notify.Publish(ctx, bus, r)
//
// When nobody eligible can be named (no investigator assigned, no
// supervisor), the service sets Fallback and no recipients: the
// notification goes to the configured fallback address (the DEI office)
// and to the webhook with "fallback": true.
//
// # Delivery
//
// Every deiops process runs one Deliverer consumer (durable name
// notify-delivery; replicas share the work). For each request it validates
// the request (an invalid one goes to the dead-letter stream with the
// reason), looks the recipients up in the directory (unknown and inactive
// people are skipped and counted), renders the template and hands the
// message to every configured channel at once:
//
//   - SMTP: one email per recipient with an email address, plain text, a
//     Message-ID derived from the notification id and the recipient, and
//     Auto-Submitted: auto-generated. STARTTLS is used when offered (auto),
//     required (always) or never attempted (never); credentials are sent
//     with PLAIN only over TLS or to a server on localhost.
//   - Webhook: one signed JSON POST per notification (see below).
//   - Log: development only, used when neither of the others is
//     configured; it logs the template, reference and recipient count.
//
// Errors a retry can fix (connection refused, timeouts, SMTP 4xx, HTTP 5xx,
// 408 and 429) are returned as plain errors, so the bus redelivers the
// request with its backoff. Errors a retry cannot fix (SMTP 5xx, HTTP 4xx,
// no STARTTLS when it is required) are marked bus.Permanent and the request
// is dead-lettered with the reason. A request that reaches nobody at all
// (every recipient unknown, inactive or without an address, or a fallback
// request with no fallback route configured) is dead-lettered too, so that
// an operator sees it rather than it vanishing.
//
// Error texts and logs name person ids and SMTP reply codes, never email
// addresses, the webhook URL (it may hold a token) or server reply texts
// (they often echo the address).
//
// # Delivery guarantee: at least once
//
// A request is acknowledged only after every channel succeeded, so a
// notification is delivered at least once. A retry may repeat part of the
// work: within one process the Deliverer remembers which channels and
// which email recipients already succeeded and skips them on redelivery,
// but a redelivery handled by another replica (or after a restart) sends
// again. Downstream systems de-duplicate with the stable identifiers every
// attempt carries: the email Message-ID (the same for the same
// notification and recipient) and the webhook Idempotency-Key (the
// notification id).
//
// # Webhook signature
//
// The webhook body is JSON:
//
//	{"notification_id":"n-…","template":"case_attention","link":"https://…/cases/c-123",
//	 "reference":"c-123","recipients":["p-1"],"fallback":false,"sent_at":"2026-03-01T09:30:00Z"}
//
// recipients are directory person ids (active people only); an empty list
// with "fallback": true means nobody eligible could be named. Each request
// carries
//
//	Idempotency-Key: <notification_id>
//	Deiops-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
//
// in the style of Stripe's webhook signatures. To verify, take t and every
// v1 value from the header, compute HMAC-SHA256 with the shared secret
// (DEIOPS_NOTIFY_WEBHOOK_SECRET, the bytes as configured) over the decimal
// t, a full stop and the raw request body exactly as received, compare it
// in constant time with a v1 value, and reject the request when none
// matches or when t is too far from the receiver's clock (five minutes is
// usual) to stop replays. VerifySignature does exactly this. Answer 2xx
// when the notification is accepted (also for an Idempotency-Key seen
// before); 4xx other than 408 and 429 tells deiops not to retry.
package notify
