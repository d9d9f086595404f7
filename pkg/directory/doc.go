// Package directory is the shared directory of people and departments: who
// works where, in which role and training level, and who supervises whom.
//
// The three services read it through an immutable *Directory snapshot:
// awareness resolves training audiences (Members) and supervisor digests
// (Reports); connection keeps mentors out of a mentee's supervisory chain
// (InChainOf); resolution keeps the people named in a report and everyone
// above them away from the case (WithSupervisors).
//
// Data enters only through imports (CSV, JSON, FHIR R4 Bundle). An import is
// all-or-nothing: every bad row is reported in one *ImportError and nothing is
// applied. Service.Import diffs the parsed batch against the current snapshot
// and hands only the changed people and departments, each with its event, to
// a Store. Events carry ids and attributes, never names or e-mail addresses.
//
// See README.md in this folder for the file formats and FHIR extensions.
package directory
