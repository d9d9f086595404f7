// Package domain holds the awareness service's entities and their rules:
// campaigns, expectation statements and attestations, training modules,
// assignments (one per cohort) and each person's training record. It has
// no transport, storage or event imports; entities keep their fields
// unexported and change only through validating constructors and methods.
package domain
