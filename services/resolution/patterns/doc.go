// Package patterns finds systemic issues in speak-up reports from
// aggregates only, and publishes those aggregates with small-cell
// suppression.
//
// # Model
//
// The engine sees each report as an [Observation]: codes (department,
// category, roles) and keyed hashes (reporter, named subjects). It never
// sees clear names and keeps no per-report records beyond the set of
// applied EventIDs (for idempotence). Everything else is folded into
// counters keyed by cell, so [Engine.Observe] costs
// O(len(Roles)+len(Subjects)) however many reports were seen before, and
// the result does not depend on the order in which events arrive: an
// engine rebuilt from a replayed, reordered or duplicated event stream has
// the same [Engine.Fingerprint] as the live one.
//
// Time is bucketed by ISO week in UTC (weeks start on Monday 00:00 UTC).
// Two aggregates are kept:
//
//   - report counts per department × category × week: each report counts
//     exactly once; detection and every table without the role dimension
//     use these;
//   - involvement counts per department × category × role × week: a report
//     counts once per distinct role it names (a report with no roles counts
//     once under "unknown"), so summed over roles these can exceed the
//     number of reports. Tables with the role dimension use these, and
//     their row, column and grand totals are sums of the cells shown, not
//     report counts.
//
// # Detection
//
// [Engine.Detect] evaluates each department × category series over the
// trailing Window weeks ending with the week that contains now:
//
//   - threshold: the window count is at least Threshold;
//   - rise: an exact one-sided Poisson test of the window count against
//     the series' own baseline rate. The baseline is the BaselineWeeks
//     weeks immediately before the window, clipped to start no earlier
//     than the week of the series' first observation (weeks before a
//     department reported anything in a category say nothing about its
//     rate). With h the number of baseline weeks left after clipping and
//     B the reports in them, the weekly rate is
//     λ = max(B/h, 0.5/h) and the expected window count is λ·Window.
//     The floor 0.5/h treats an empty baseline as if half a report had been
//     seen in it, so a department with no history in a category does not
//     make the very first reports "infinitely" significant. The p-value
//     is p = P(X ≥ count | X ~ Poisson(λ·Window)), computed as the
//     regularized lower incomplete gamma function P(count, λ·Window) in
//     log space (no factorials, no overflow at counts of 10^6). A rise
//     fires when h ≥ MinBaselineWeeks, count ≥ MinRiseCount and
//     p < Alpha.
//
// Defaults: MinCellSize 5, Window 4 weeks, BaselineWeeks 26,
// Threshold 10, Alpha 0.001, MinRiseCount 3, MinBaselineWeeks 8.
//
// Detections carry counts, not identities. They are a signal for the
// designated resolution team: their counts are not suppressed (a rise can
// fire at MinRiseCount, below MinCellSize), so anything shown more widely
// must go through [Engine.Table].
//
// # Repeat subjects
//
// [Engine.RepeatSubjects] reports a subject hash named by at least two
// distinct reporters. Two reports from the same reporter hash never make
// a match. An anonymous report (empty Reporter) counts its case as the
// reporter (or itself, if it has no CaseID), so anonymous reports in
// different cases are distinct reporters while follow-ups within one
// anonymous case are not. Matches are exposed
// under a digest of the subject hash, never the hash itself.
//
// # Suppression
//
// [Engine.Table] cross-tabulates two dimensions. With k = MinCellSize:
// every cell and every total with 0 < count < k is suppressed (primary
// suppression; zeros are shown). Then, until nothing changes, every row
// or column whose total is published and which has exactly one suppressed
// cell gets a second one suppressed (the smallest non-zero published cell
// there), or, if there is none, its total is suppressed instead; the grand
// total is treated the same way against the row totals and against the
// column totals. This is the standard complementary-suppression heuristic:
// no suppressed value can be recovered by subtracting published numbers
// within one row, column or margin. A suppressed [Cell] always has Count 0
// and marshals to {"count":null,"suppressed":true}.
package patterns
