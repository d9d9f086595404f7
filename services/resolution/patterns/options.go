package patterns

import (
	"errors"
	"fmt"
	"math"
)

// Defaults applied to zero-valued Options fields.
const (
	DefaultMinCellSize      = 5
	DefaultWindow           = 4
	DefaultBaselineWeeks    = 26
	DefaultThreshold        = 10
	DefaultAlpha            = 0.001
	DefaultMinRiseCount     = 3
	DefaultMinBaselineWeeks = 8
)

// Options tunes an Engine. A zero field means its default.
type Options struct {
	// MinCellSize is k: published counts are 0 or at least k.
	MinCellSize int
	// Window is the detection window in ISO weeks, ending with now's week.
	Window int
	// BaselineWeeks is how many weeks before the window make the baseline.
	BaselineWeeks int
	// Threshold is the window count at which a threshold detection fires.
	Threshold int
	// Alpha is the one-sided p-value below which a rise fires.
	Alpha float64
	// MinRiseCount is the smallest window count that can fire a rise.
	MinRiseCount int
	// MinBaselineWeeks is the history (in weeks, since the series' first
	// observation) a rise needs: a short baseline estimates the rate badly.
	MinBaselineWeeks int
}

// withDefaults fills zero fields; negative values are left for Validate.
func (o Options) withDefaults() Options {
	if o.MinCellSize == 0 {
		o.MinCellSize = DefaultMinCellSize
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.BaselineWeeks == 0 {
		o.BaselineWeeks = DefaultBaselineWeeks
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.MinRiseCount == 0 {
		o.MinRiseCount = DefaultMinRiseCount
	}
	if o.MinBaselineWeeks == 0 {
		o.MinBaselineWeeks = DefaultMinBaselineWeeks
	}
	return o
}

// maxWeeks bounds Window and BaselineWeeks: a decade of weeks is far more
// than any sensible setting and keeps week arithmetic far from overflow.
const maxWeeks = 520

// Validate reports every problem with the options once defaults are
// applied to zero fields, joined with errors.Join.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.MinCellSize < 2 {
		// k = 1 would publish every count, i.e. no suppression at all.
		errs = append(errs, fmt.Errorf("patterns: Options.MinCellSize must be at least 2, got %d", o.MinCellSize))
	}
	if o.Window < 1 || o.Window > maxWeeks {
		errs = append(errs, fmt.Errorf("patterns: Options.Window must be between 1 and %d weeks, got %d", maxWeeks, o.Window))
	}
	if o.BaselineWeeks < 1 || o.BaselineWeeks > maxWeeks {
		errs = append(errs, fmt.Errorf("patterns: Options.BaselineWeeks must be between 1 and %d weeks, got %d", maxWeeks, o.BaselineWeeks))
	}
	if o.Threshold < 1 {
		errs = append(errs, fmt.Errorf("patterns: Options.Threshold must be at least 1, got %d", o.Threshold))
	}
	if math.IsNaN(o.Alpha) || o.Alpha <= 0 || o.Alpha >= 1 {
		errs = append(errs, fmt.Errorf("patterns: Options.Alpha must be in (0, 1), got %v", o.Alpha))
	}
	if o.MinRiseCount < 1 {
		errs = append(errs, fmt.Errorf("patterns: Options.MinRiseCount must be at least 1, got %d", o.MinRiseCount))
	}
	if o.MinBaselineWeeks < 1 || o.MinBaselineWeeks > o.BaselineWeeks {
		errs = append(errs, fmt.Errorf("patterns: Options.MinBaselineWeeks must be between 1 and Options.BaselineWeeks (%d), got %d", o.BaselineWeeks, o.MinBaselineWeeks))
	}
	return errors.Join(errs...)
}
