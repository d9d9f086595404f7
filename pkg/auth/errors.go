package auth

import "errors"

// Error is the type of this package's sentinel errors. Its text is the short
// reason written to audit records; compare with errors.Is. Every Error from
// authentication answers the same uniform 401, so callers learn nothing from
// the HTTP response about why their token failed.
type Error string

func (e Error) Error() string { return string(e) }

// Reasons a request is not authenticated.
const (
	ErrMissingToken       = Error("missing bearer token")
	ErrMalformed          = Error("malformed token")
	ErrUnsigned           = Error("unsigned token")
	ErrAlgorithm          = Error("algorithm not allowed")
	ErrUnknownKey         = Error("unknown signing key")
	ErrKeyMismatch        = Error("signing key does not fit algorithm")
	ErrSignature          = Error("invalid signature")
	ErrIssuer             = Error("wrong issuer")
	ErrAudience           = Error("wrong audience")
	ErrMissingExpiry      = Error("token has no expiry")
	ErrExpired            = Error("token expired")
	ErrNotYetValid        = Error("token not yet valid")
	ErrIssuedInFuture     = Error("token issued in the future")
	ErrMissingSubject     = Error("token has no subject")
	ErrKeySetUnavailable  = Error("signing keys unavailable")
	ErrNotAuthenticated   = Error("no authenticated principal")
	ErrInsufficientRole   = Error("missing role")
	errUnclassifiedReason = "invalid token"
)

// Reason returns the audit reason for err: the text of the outermost Error
// in its chain, never attacker-supplied detail.
func Reason(err error) string {
	var e Error
	if errors.As(err, &e) {
		return string(e)
	}
	return errUnclassifiedReason
}
