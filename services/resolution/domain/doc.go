// Package domain holds the resolution service's entities and rules: report
// intake validation, anonymous reporter credentials and the case aggregate
// with its state machine, timeline and domain events.
//
// It imports only the standard library and golang.org/x/crypto so that the
// rules can be tested without infrastructure and reused by every port.
// Restricted content (narratives, names, witnesses, notes) lives in
// Restricted values; adapters seal them with the keyring before storage.
package domain
